"""Model plumbing shared by judging and predicting: backends, the pass runner, prices."""
