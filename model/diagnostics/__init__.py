"""Measurement tools for the model (used by `bench` and `attention`, never by the app's core or GUI):

    attention_regions.py   where the first-level attention falls on a face, against a goal ratio
    train_throughput.py    training samples per second through the real trainer
"""
