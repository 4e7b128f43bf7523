"""Combination (method steps 6-7): tensor similarity and the set T (`similarity`, Eq. 4), the
merge (`merge`, Eq. 5) and its terms (`terms`), several abilities in one model
(`multi_ability`), and how much of γR(A) survives the rounding of the merged model
(`rounding`)."""
