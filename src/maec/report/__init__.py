"""What the paper shows, from score files and similarity tables: tables (`tables`), figures
(`figures`), where R(A) and R_Lang live in the model (`diagnostics`), and how far a score
can be trusted (`stats`)."""
