-- Daily net sentiment per brand ((positive - negative) / mentions, spam excluded) with its 7-day
-- moving average, for a line chart. Days are local days in the configured timezone.
SELECT
    d.date,
    b.brand_name,
    m.mentions,
    m.positive,
    m.neutral,
    m.negative,
    ROUND(CAST(m.net_sentiment AS numeric), 3) AS net_sentiment,
    ROUND(CAST(AVG(m.net_sentiment) OVER (
        PARTITION BY m.brand_id ORDER BY d.date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
    ) AS numeric), 3) AS net_sentiment_7d
FROM mart_brand_daily m
JOIN dim_brand b ON b.brand_id = m.brand_id
JOIN dim_date d ON d.date_key = m.date_key
ORDER BY b.brand_name, d.date;
