"""Interview analysis on the intent model's sentence encoder (issue 23 part 5).

The AI-Hub interview page's own tasks on the candidates' answers: the answer's emotion and intent
(a logistic head on frozen multilingual-e5-small, beside the majority class and char TF-IDF) and an
extractive summary (the sentences nearest the answer's mean embedding, beside the lead sentences),
scored against the labelled summaries with character ROUGE. :func:`callbot.interview.analyse.analyse_interview`
is the stage (`callbot interview`); it writes the reports and the heads validation chose
(:mod:`callbot.interview.served`, which the Bento serves).
"""
