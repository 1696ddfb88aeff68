-- mart_top_authors: the KOL ranking, per local day and brand.
-- Grain: date_key x brand_id x author_key (authors with at least one non-spam mention of the brand that day).
-- reach_weighted_mentions = sum of the mentions' reach (author followers at crawl time);
-- rank 1 = the most reach-weighted mentions (ties: more mentions, then author_key).
-- {{ ident(x) }} quotes a column name the dialect's way (listening.warehouse.render_sql).
-- Parameters: :start_key, :end_key, :built_at.
DELETE FROM mart_top_authors WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_top_authors (
    date_key, brand_id, author_key, author_name, kol_tier, followers, mentions, reach_weighted_mentions,
    engagement, positive, negative, net_sentiment, {{ ident(rank) }}, built_at
)
SELECT
    date_key, brand_id, author_key, author_name, kol_tier, followers, mentions, reach_weighted,
    engagement, positive, negative,
    CASE WHEN mentions > 0 THEN (positive - negative) * 1.0 / mentions END,
    ROW_NUMBER() OVER (PARTITION BY date_key, brand_id ORDER BY reach_weighted DESC, mentions DESC, author_key),
    :built_at
FROM (
    SELECT
        m.date_key,
        b.brand_id,
        m.author_key,
        MAX(a.author_name) AS author_name,
        COALESCE(MAX(a.kol_tier), 'none') AS kol_tier,
        MAX(a.followers) AS followers,
        COUNT(*) AS mentions,
        SUM(m.reach) AS reach_weighted,
        SUM(m.engagement) AS engagement,
        SUM(CASE WHEN m.sentiment_label = 'positive' THEN 1 ELSE 0 END) AS positive,
        SUM(CASE WHEN m.sentiment_label = 'negative' THEN 1 ELSE 0 END) AS negative
    FROM fct_mention m
    JOIN bridge_mention_brand b ON b.mention_id = m.mention_id
    LEFT JOIN dim_author a ON a.author_key = m.author_key
    WHERE m.date_key BETWEEN :start_key AND :end_key
      AND NOT m.is_spam
      AND m.author_key IS NOT NULL
    GROUP BY m.date_key, b.brand_id, m.author_key
) AS authors;
