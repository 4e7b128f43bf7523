"""Extraction (method steps 4-5): the ability weights R(A) (`ability`, Eq. 2), the language
weights R(Li) and R_Lang (`language`, Eq. 3), R(A) by reverting instead of masking
(`revert`), and ability packs, R(A) stored with what it was made of (`packs`)."""
