"""The statistical model: training (scikit-learn), the compiled numpy form that serves,
storing it beside what built it, the labelled examples, evaluation and retraining."""
