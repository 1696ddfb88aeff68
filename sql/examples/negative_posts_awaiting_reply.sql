-- Negative posts about a brand that none of its official accounts has answered yet, the most visible
-- first (author followers, then engagement). Spam and the brand's own posts are left out.
-- "Recent" = the last 3 days before the newest mention in the warehouse; live: NOW() - INTERVAL '3 days'.
SELECT
    b.brand_name,
    m.published_at,
    a.author_name,
    a.followers,
    a.kol_tier,
    m.engagement,
    ROUND(CAST(m.sentiment AS numeric), 3) AS sentiment,
    m.url,
    LEFT(m.text, 120) AS text
FROM fct_mention m
JOIN bridge_mention_brand bm ON bm.mention_id = m.mention_id
JOIN dim_brand b ON b.brand_id = bm.brand_id
LEFT JOIN dim_author a ON a.author_key = m.author_key
WHERE m.sentiment_label = 'negative'
  AND NOT m.is_spam
  AND m.published_at >= (SELECT MAX(published_at) FROM fct_mention) - INTERVAL '3 days'
  AND NOT EXISTS (
      SELECT 1 FROM fct_interaction i
      WHERE i.mention_id = m.mention_id AND i.is_owned_reply AND i.owned_brand = bm.brand_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM dim_owned_account o
      WHERE o.brand_id = bm.brand_id AND o.account_name = a.author_name
  )
ORDER BY COALESCE(a.followers, 0) DESC, m.engagement DESC, m.published_at
LIMIT 100;
