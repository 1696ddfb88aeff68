-- mart_share_of_voice: each brand against its competitor set, per local day.
-- Grain: date_key x brand_id. The set is the brand plus dim_brand_competitor (brands.yaml `competitors`).
-- Built from mart_brand_daily (spam already excluded), so it runs after it. A mention that matches two
-- brands of a set counts for both, as in mart_brand_daily.
-- share_of_voice = mentions / set_mentions; share_of_reach, share_of_positive, share_of_negative alike.
-- Parameters: :start_key, :end_key (inclusive YYYYMMDD range to rebuild), :built_at.
DELETE FROM mart_share_of_voice WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_share_of_voice (
    date_key, brand_id, competitors, mentions, competitor_mentions, set_mentions, share_of_voice,
    reach, set_reach, share_of_reach, positive, set_positive, share_of_positive,
    negative, set_negative, share_of_negative, built_at
)
SELECT
    date_key, brand_id, competitors, mentions, set_mentions - mentions, set_mentions,
    CASE WHEN set_mentions > 0 THEN mentions * 1.0 / set_mentions END,
    reach, set_reach,
    CASE WHEN set_reach > 0 THEN reach * 1.0 / set_reach END,
    positive, set_positive,
    CASE WHEN set_positive > 0 THEN positive * 1.0 / set_positive END,
    negative, set_negative,
    CASE WHEN set_negative > 0 THEN negative * 1.0 / set_negative END,
    :built_at
FROM (
    SELECT
        d.date_key,
        p.brand_id,
        MAX(p.competitors) AS competitors,
        SUM(CASE WHEN p.peer_id = p.brand_id THEN d.mentions ELSE 0 END) AS mentions,
        SUM(d.mentions) AS set_mentions,
        SUM(CASE WHEN p.peer_id = p.brand_id THEN d.reach ELSE 0 END) AS reach,
        SUM(d.reach) AS set_reach,
        SUM(CASE WHEN p.peer_id = p.brand_id THEN d.positive ELSE 0 END) AS positive,
        SUM(d.positive) AS set_positive,
        SUM(CASE WHEN p.peer_id = p.brand_id THEN d.negative ELSE 0 END) AS negative,
        SUM(d.negative) AS set_negative
    FROM (
        SELECT b.brand_id, b.brand_id AS peer_id,
               (SELECT COUNT(*) FROM dim_brand_competitor c WHERE c.brand_id = b.brand_id) AS competitors
        FROM dim_brand b
        UNION ALL
        SELECT c.brand_id, c.competitor_id AS peer_id,
               (SELECT COUNT(*) FROM dim_brand_competitor c2 WHERE c2.brand_id = c.brand_id) AS competitors
        FROM dim_brand_competitor c
    ) AS p
    JOIN mart_brand_daily d ON d.brand_id = p.peer_id
    WHERE d.date_key BETWEEN :start_key AND :end_key
    GROUP BY d.date_key, p.brand_id
) AS sov;
