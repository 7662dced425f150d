"""Voice: decoding recordings, transcribers, the transcription worker and speech samples."""
