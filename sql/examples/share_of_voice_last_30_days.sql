-- Share of voice per brand over the last 30 days, against its competitor set (brands.yaml `competitors`).
-- "Last 30 days" ends at the latest day in the warehouse; for a live dashboard use CURRENT_DATE instead:
--   WHERE d.date > CURRENT_DATE - 30
-- share_of_voice = the brand's mentions / the mentions of the brand and its competitors (spam excluded).
WITH last_day AS (
    SELECT MAX(d.date) AS day
    FROM mart_share_of_voice s
    JOIN dim_date d ON d.date_key = s.date_key
)
SELECT
    b.brand_name,
    s.brand_id,
    SUM(s.mentions) AS mentions,
    SUM(s.competitor_mentions) AS competitor_mentions,
    ROUND(SUM(s.mentions) * 1.0 / NULLIF(SUM(s.set_mentions), 0), 4) AS share_of_voice,
    ROUND(SUM(s.reach) * 1.0 / NULLIF(SUM(s.set_reach), 0), 4) AS share_of_reach,
    ROUND(SUM(s.negative) * 1.0 / NULLIF(SUM(s.set_negative), 0), 4) AS share_of_negative
FROM mart_share_of_voice s
JOIN dim_date d ON d.date_key = s.date_key
JOIN dim_brand b ON b.brand_id = s.brand_id
WHERE d.date > (SELECT day FROM last_day) - 30
GROUP BY b.brand_name, s.brand_id
ORDER BY share_of_voice DESC;
