-- mart_response: how the brand's owned accounts answer, per local day of the mention and brand.
-- Grain: date_key x brand_id. Mentions: non-spam, not written by one of the brand's owned accounts
-- (dim_owned_account). A reply is an fct_interaction row with is_owned_reply and owned_brand = the brand,
-- under the mention (fct_interaction.mention_id).
-- one_to_one_rate = mentions_replied / mentions (the one-to-one interaction KPI);
-- negative_reply_rate = negative_replied / negative_mentions; negative_awaiting = negative not yet replied;
-- median_first_reply_s = median over replied negative mentions of (first reply - mention) in seconds.
-- {{ epoch(x) }} is a dialect macro (listening.warehouse.render_sql).
-- Parameters: :start_key, :end_key, :built_at.
DELETE FROM mart_response WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_response (
    date_key, brand_id, mentions, mentions_replied, one_to_one_rate, negative_mentions, negative_replied,
    negative_awaiting, negative_reply_rate, median_first_reply_s, owned_replies, user_comments, built_at
)
WITH base AS (
    SELECT
        m.date_key,
        b.brand_id,
        m.mention_id,
        m.published_at,
        m.sentiment_label,
        r.first_reply_at,
        COALESCE(r.owned_replies, 0) AS owned_replies,
        COALESCE(c.user_comments, 0) AS user_comments
    FROM fct_mention m
    JOIN bridge_mention_brand b ON b.mention_id = m.mention_id
    LEFT JOIN dim_author a ON a.author_key = m.author_key
    LEFT JOIN (
        SELECT mention_id, owned_brand, MIN(published_at) AS first_reply_at, COUNT(*) AS owned_replies
        FROM fct_interaction
        WHERE is_owned_reply
        GROUP BY mention_id, owned_brand
    ) AS r ON r.mention_id = m.mention_id AND r.owned_brand = b.brand_id
    LEFT JOIN (
        SELECT mention_id, COUNT(*) AS user_comments
        FROM fct_interaction
        WHERE NOT is_owned_reply
        GROUP BY mention_id
    ) AS c ON c.mention_id = m.mention_id
    WHERE m.date_key BETWEEN :start_key AND :end_key
      AND NOT m.is_spam
      AND NOT EXISTS (
          SELECT 1 FROM dim_owned_account o
          WHERE o.brand_id = b.brand_id AND o.account_name = a.author_name
      )
),
delays AS (
    SELECT date_key, brand_id, {{ epoch(first_reply_at) }} - {{ epoch(published_at) }} AS secs
    FROM base
    WHERE sentiment_label = 'negative' AND first_reply_at IS NOT NULL
),
ranked AS (
    SELECT date_key, brand_id, secs,
           ROW_NUMBER() OVER (PARTITION BY date_key, brand_id ORDER BY secs) AS rn,
           COUNT(*) OVER (PARTITION BY date_key, brand_id) AS n
    FROM delays
),
medians AS (
    SELECT date_key, brand_id, AVG(secs) AS median_s
    FROM ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY date_key, brand_id
),
daily AS (
    SELECT
        date_key,
        brand_id,
        COUNT(*) AS mentions,
        SUM(CASE WHEN first_reply_at IS NOT NULL THEN 1 ELSE 0 END) AS mentions_replied,
        SUM(CASE WHEN sentiment_label = 'negative' THEN 1 ELSE 0 END) AS negative_mentions,
        SUM(CASE WHEN sentiment_label = 'negative' AND first_reply_at IS NOT NULL THEN 1 ELSE 0 END)
            AS negative_replied,
        SUM(owned_replies) AS owned_replies,
        SUM(user_comments) AS user_comments
    FROM base
    GROUP BY date_key, brand_id
)
SELECT
    d.date_key,
    d.brand_id,
    d.mentions,
    d.mentions_replied,
    CASE WHEN d.mentions > 0 THEN d.mentions_replied * 1.0 / d.mentions END,
    d.negative_mentions,
    d.negative_replied,
    d.negative_mentions - d.negative_replied,
    CASE WHEN d.negative_mentions > 0 THEN d.negative_replied * 1.0 / d.negative_mentions END,
    md.median_s,
    d.owned_replies,
    d.user_comments,
    :built_at
FROM daily d
LEFT JOIN medians md ON md.date_key = d.date_key AND md.brand_id = d.brand_id;
