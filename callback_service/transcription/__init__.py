"""Speech to text for answer recordings.

base.py (Transcriber interface, results, errors) is all a stage needs; whisper.py is the
faster-whisper implementation, built by factory.py; model.py resolves and assembles the model.
"""
