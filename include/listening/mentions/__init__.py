"""From parsed posts to mentions: brand match, normalisation and spam (``match``), dedupe tiers 1-2
(``dedupe``), stories of near-duplicates, tier 3 (``stories``)."""
