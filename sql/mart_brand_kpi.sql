-- mart_brand_kpi: social figures next to sales / spend (fct_sales), per local day and brand, with the
-- KPI set of the brand's goal (dim_brand.goal from the sales config; NULL = awareness):
--   awareness:  kpi_1 mentions,       kpi_2 reach,         kpi_3 share_of_voice
--   reputation: kpi_1 net_sentiment,  kpi_2 negative,      kpi_3 avg_sentiment
--   sales:      kpi_1 mentions,       kpi_2 net_sentiment, kpi_3 sales_amount
-- Ratios: kpi_1_per_spend = kpi_1_value / spend (output per unit of input), sales_per_mention,
-- spend_per_1k_reach. Days with sales but no mentions are kept (mentions 0).
-- Runs after mart_brand_daily and mart_share_of_voice. Parameters: :start_key, :end_key, :built_at.
DELETE FROM mart_brand_kpi WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_brand_kpi (
    date_key, brand_id, goal, mentions, reach, engagement, share_of_voice, net_sentiment, avg_sentiment,
    negative, sales_amount, units, spend, kpi_1_name, kpi_1_value, kpi_2_name, kpi_2_value, kpi_3_name,
    kpi_3_value, kpi_1_per_spend, sales_per_mention, spend_per_1k_reach, built_at
)
SELECT
    k.date_key, k.brand_id, k.goal, k.mentions, k.reach, k.engagement, k.share_of_voice, k.net_sentiment,
    k.avg_sentiment, k.negative, k.sales_amount, k.units, k.spend,
    CASE k.goal WHEN 'reputation' THEN 'net_sentiment' ELSE 'mentions' END,
    CASE k.goal WHEN 'reputation' THEN k.net_sentiment ELSE k.mentions END,
    CASE k.goal WHEN 'reputation' THEN 'negative' WHEN 'sales' THEN 'net_sentiment' ELSE 'reach' END,
    CASE k.goal WHEN 'reputation' THEN k.negative WHEN 'sales' THEN k.net_sentiment ELSE k.reach END,
    CASE k.goal WHEN 'reputation' THEN 'avg_sentiment' WHEN 'sales' THEN 'sales_amount' ELSE 'share_of_voice' END,
    CASE k.goal WHEN 'reputation' THEN k.avg_sentiment WHEN 'sales' THEN k.sales_amount ELSE k.share_of_voice END,
    CASE WHEN k.spend > 0 THEN
        (CASE k.goal WHEN 'reputation' THEN k.net_sentiment ELSE k.mentions END) / k.spend END,
    CASE WHEN k.mentions > 0 THEN k.sales_amount / k.mentions END,
    CASE WHEN k.reach > 0 THEN k.spend * 1000.0 / k.reach END,
    :built_at
FROM (
    SELECT
        keys.date_key,
        keys.brand_id,
        COALESCE(b.goal, 'awareness') AS goal,
        COALESCE(d.mentions, 0) AS mentions,
        COALESCE(d.reach, 0) AS reach,
        COALESCE(d.engagement, 0) AS engagement,
        v.share_of_voice,
        d.net_sentiment,
        d.avg_sentiment,
        COALESCE(d.negative, 0) AS negative,
        s.sales_amount,
        s.units,
        s.spend
    FROM (
        SELECT date_key, brand_id FROM mart_brand_daily WHERE date_key BETWEEN :start_key AND :end_key
        UNION
        SELECT date_key, brand_id FROM fct_sales WHERE date_key BETWEEN :start_key AND :end_key
    ) AS keys
    JOIN dim_brand b ON b.brand_id = keys.brand_id
    LEFT JOIN mart_brand_daily d ON d.date_key = keys.date_key AND d.brand_id = keys.brand_id
    LEFT JOIN mart_share_of_voice v ON v.date_key = keys.date_key AND v.brand_id = keys.brand_id
    LEFT JOIN fct_sales s ON s.date_key = keys.date_key AND s.brand_id = keys.brand_id
) AS k;
