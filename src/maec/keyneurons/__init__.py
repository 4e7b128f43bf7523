"""Key neurons (method step 2): the importance of every entry after the importance CPT
(`importance`, Eq. 1), the exact top k1 of it (`topk`) with ties broken by a seeded hash
(`tie_rule`), and the masks that keep them (`masks`)."""
