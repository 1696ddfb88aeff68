-- mart_brand_daily: one row per local day (config timezone) and brand.
-- Grain: date_key x brand_id. Spam is excluded from every measure and counted in spam_excluded.
-- net_sentiment = (positive - negative) / mentions; avg_sentiment over scored mentions.
-- Parameters: :start_key, :end_key (inclusive YYYYMMDD range to rebuild), :built_at.
DELETE FROM mart_brand_daily WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_brand_daily (
    date_key, brand_id, mentions, unique_stories, positive, neutral, negative, unscored,
    net_sentiment, avg_sentiment, engagement, reach, spam_excluded, built_at
)
SELECT
    date_key, brand_id, mentions, unique_stories, positive, neutral, negative, unscored,
    CASE WHEN mentions > 0 THEN (positive - negative) * 1.0 / mentions END,
    avg_sentiment, engagement, reach, spam_excluded, :built_at
FROM (
    SELECT
        m.date_key,
        b.brand_id,
        SUM(CASE WHEN m.is_spam THEN 0 ELSE 1 END) AS mentions,
        COUNT(DISTINCT CASE WHEN NOT m.is_spam THEN m.story_id END) AS unique_stories,
        SUM(CASE WHEN NOT m.is_spam AND m.sentiment_label = 'positive' THEN 1 ELSE 0 END) AS positive,
        SUM(CASE WHEN NOT m.is_spam AND m.sentiment_label = 'neutral' THEN 1 ELSE 0 END) AS neutral,
        SUM(CASE WHEN NOT m.is_spam AND m.sentiment_label = 'negative' THEN 1 ELSE 0 END) AS negative,
        SUM(CASE WHEN NOT m.is_spam AND m.sentiment IS NULL THEN 1 ELSE 0 END) AS unscored,
        AVG(CASE WHEN NOT m.is_spam THEN m.sentiment END) AS avg_sentiment,
        SUM(CASE WHEN NOT m.is_spam THEN m.engagement ELSE 0 END) AS engagement,
        SUM(CASE WHEN NOT m.is_spam THEN m.reach ELSE 0 END) AS reach,
        SUM(CASE WHEN m.is_spam THEN 1 ELSE 0 END) AS spam_excluded
    FROM fct_mention m
    JOIN bridge_mention_brand b ON b.mention_id = m.mention_id
    WHERE m.date_key BETWEEN :start_key AND :end_key
    GROUP BY m.date_key, b.brand_id
) AS daily;
