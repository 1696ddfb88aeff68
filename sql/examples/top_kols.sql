-- The top 10 KOLs per brand over the last 30 days, ranked by reach-weighted mentions (the sum of the
-- author's followers over their mentions of the brand), with how they talk about it.
-- "Last 30 days" ends at the latest day in the warehouse; live: WHERE d.date > CURRENT_DATE - 30.
WITH last_day AS (
    SELECT MAX(d.date) AS day
    FROM mart_top_authors t
    JOIN dim_date d ON d.date_key = t.date_key
),
kols AS (
    SELECT
        t.brand_id,
        t.author_key,
        MAX(t.author_name) AS author_name,
        MAX(t.kol_tier) AS kol_tier,
        MAX(t.followers) AS followers,
        SUM(t.mentions) AS mentions,
        SUM(t.reach_weighted_mentions) AS reach_weighted_mentions,
        SUM(t.positive) AS positive,
        SUM(t.negative) AS negative,
        RANK() OVER (PARTITION BY t.brand_id ORDER BY SUM(t.reach_weighted_mentions) DESC) AS kol_rank
    FROM mart_top_authors t
    JOIN dim_date d ON d.date_key = t.date_key
    WHERE d.date > (SELECT day FROM last_day) - 30
    GROUP BY t.brand_id, t.author_key
)
SELECT b.brand_name, k.kol_rank, k.author_name, k.kol_tier, k.followers, k.mentions, k.reach_weighted_mentions,
       k.positive, k.negative
FROM kols k
JOIN dim_brand b ON b.brand_id = k.brand_id
WHERE k.kol_rank <= 10
ORDER BY b.brand_name, k.kol_rank;
