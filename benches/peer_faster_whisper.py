#!/usr/bin/env python3
"""The peer of benches/throughput.py: faster-whisper on the same calls, its recipe for stereo
calls — each channel transcribed separately with its own VAD (`vad_filter=True`), int8 on
CPU. Run under /usr/bin/time by throughput.py; writes {call_id: {agent: text, customer: text}}
as JSON.

usage: peer_faster_whisper.py CT2_MODEL_DIR MANIFEST_CSV OUT_JSON THREADS BEAM
"""
import csv
import json
import os
import sys

from faster_whisper import WhisperModel, decode_audio


def main():
    model_dir, manifest, out, threads, beam = sys.argv[1:6]
    base = os.path.dirname(os.path.abspath(manifest))
    model = WhisperModel(model_dir, device="cpu", compute_type="int8",
                         cpu_threads=int(threads), num_workers=1)
    result = {}
    for row in csv.DictReader(open(manifest)):
        left, right = decode_audio(os.path.join(base, row["path"]), split_stereo=True)
        texts = {}
        for role, audio in (("agent", left), ("customer", right)):
            segments, _ = model.transcribe(audio, language="en", beam_size=int(beam),
                                           vad_filter=True)
            texts[role] = " ".join(s.text.strip() for s in segments)
        result[row["call_id"]] = texts
    json.dump(result, open(out, "w"))


if __name__ == "__main__":
    main()
