"""Reward-model training (`reward-agent train-rm`) and its evaluation report."""
