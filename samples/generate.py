#!/usr/bin/env python3
"""Regenerate the bundled sample calls from the role scripts in samples/scripts/.

Each script line is `A: text` (agent) or `C: text` (customer). A prefix changes when the line
starts relative to the end of the previous one:
  `+N A: ...`   N seconds of silence before the line (a hold, or dead air)
  `~N C: ...`   the line starts N seconds before the previous one ends (overtalk)
  `+Nm A: ...`  as `+N`, with hold music on the agent channel for the gap (less 0.5 s each side);
                the timeline gets a `music` row for it
Otherwise a line starts 0.6 s after the previous one ends.

The agent speaks with Festival's kal_diphone voice, the customer with cmu_us_slt_arctic_hts.
Each utterance is band-limited to the telephone band, low-level line noise is added to every
channel, and the call is written in the format named in FORMATS below. Next to each recording
the generator writes `<call>.timeline.csv` (role,start_ms,end_ms,text): the exact ground truth
the tests compare transcripts and conversation metrics against.

Needs: festival, festvox-kallpc16k, festvox-us-slt-hts, sox, libsox-fmt-mp3, ffmpeg (for M4A).
Usage: python3 samples/generate.py [CALL_ID ...]   (writes into samples/; all calls by default)
"""

import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import wave
from array import array

RATE = 16000
GAP_S = 0.6
LEAD_S = 0.8
TAIL_S = 1.0
NOISE_SIGMA = 40.0  # about -58 dBFS of white line noise
VOICES = {"A": "(voice_kal_diphone)", "C": "(voice_cmu_us_slt_arctic_hts)"}
ROLES = {"A": "agent", "C": "customer", "M": "music"}

# call id -> (file name, layout, sox/ffmpeg output options)
FORMATS = {
    "call_001": ("call_001.wav", "stereo", ["-r", "8000", "-e", "u-law", "-b", "8"]),
    "call_002": ("call_002.mp3", "stereo", ["-r", "16000", "-C", "48"]),
    "call_003": ("call_003.flac", "stereo", ["-r", "16000", "-b", "16"]),
    "call_004": ("call_004.wav", "mono", ["-r", "8000", "-e", "a-law", "-b", "8"]),
    "call_005": ("call_005.ogg", "stereo", ["-r", "16000", "-C", "3"]),
    "call_006": ("call_006.m4a", "stereo", None),  # ffmpeg: AAC-LC in MP4
    "call_007": ("call_007.wav", "stereo", ["-r", "8000", "-e", "u-law", "-b", "8"]),
    "call_008": ("call_008.wav", "stereo", ["-r", "8000", "-e", "u-law", "-b", "8"]),
}

LINE = re.compile(r"^(?:([+~])([0-9.]+)(m?)\s+)?([AC]):\s*(.+)$")
# hold music: a melody over a sustained chord, notes in Hz
MELODY = [392.0, 440.0, 494.0, 523.3, 494.0, 440.0, 392.0, 330.0, 349.2, 392.0, 440.0, 392.0]
CHORDS = [(261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6), (196.0, 246.9, 293.7)]


def synthesize(text, role, tmp):
    txt = os.path.join(tmp, "u.txt")
    raw = os.path.join(tmp, "u_raw.wav")
    out = os.path.join(tmp, "u.wav")
    with open(txt, "w") as f:
        f.write(text + "\n")
    subprocess.run(["text2wave", "-eval", VOICES[role], txt, "-o", raw], check=True)
    # telephone band, 16 kHz mono 16-bit, trim leading/trailing silence of the synthesiser
    subprocess.run(
        ["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", out,
         "sinc", "250-3400", "silence", "1", "0.02", "0.5%", "reverse",
         "silence", "1", "0.02", "0.5%", "reverse", "norm", "-3"],
        check=True,
    )
    with wave.open(out) as w:
        return array("h", w.readframes(w.getnframes()))


def hold_music(seconds):
    """Hold music: a plucked melody (0.4 s notes) over a sustained chord, about -14 dBFS."""
    import math
    n = int(seconds * RATE)
    out = array("h", bytes(2 * n))
    note_len = int(0.4 * RATE)
    for i in range(n):
        t = i / RATE
        chord = CHORDS[int(t / 1.6) % len(CHORDS)]
        v = sum(math.sin(2 * math.pi * f * t) for f in chord) * 1200.0
        k, pos = divmod(i, note_len)
        f = MELODY[k % len(MELODY)]
        env = math.exp(-3.0 * pos / note_len)
        v += env * 5000.0 * (math.sin(2 * math.pi * f * t) + 0.4 * math.sin(4 * math.pi * f * t))
        out[i] = clip(v)
    return out


def build(call_id, tmp):
    path = os.path.join(HERE, "scripts", call_id + ".txt")
    events = []
    cursor = LEAD_S
    prev_end = LEAD_S
    for lineno, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            sys.exit(f"{path}:{lineno}: cannot parse script line: {line}")
        sign, secs, music, role, text = m.groups()
        start = prev_end + GAP_S
        if sign == "+":
            start = prev_end + float(secs)
        elif sign == "~":
            start = prev_end - float(secs)
        if music:
            if sign != "+" or role != "A" or float(secs) < 2:
                sys.exit(f"{path}:{lineno}: hold music needs `+Nm A:` with N >= 2")
            pcm = hold_music(float(secs) - 1.0)
            events.append(("M", prev_end + 0.5, prev_end + 0.5 + len(pcm) / RATE, "", pcm))
        pcm = synthesize(text, role, tmp)
        end = start + len(pcm) / RATE
        events.append((role, start, end, text, pcm))
        prev_end = end
        cursor = max(cursor, end)
    total = int((cursor + TAIL_S) * RATE)
    rng = random.Random(call_id)
    chans = {r: [rng.gauss(0.0, NOISE_SIGMA) for _ in range(total)] for r in "AC"}
    for role, start, _end, _text, pcm in events:
        ch = chans["A" if role == "M" else role]
        off = int(round(start * RATE))
        for i, s in enumerate(pcm):
            ch[off + i] += s
    return events, chans, total


def clip(v):
    return max(-32768, min(32767, int(round(v))))


def write_wav(path, chans, total, layout):
    with wave.open(path, "wb") as w:
        w.setsampwidth(2)
        w.setframerate(RATE)
        if layout == "stereo":
            w.setnchannels(2)
            data = array("h", (0 for _ in range(2 * total)))
            data[0::2] = array("h", (clip(v) for v in chans["A"]))
            data[1::2] = array("h", (clip(v) for v in chans["C"]))
        else:
            w.setnchannels(1)
            data = array("h", (clip(a + c) for a, c in zip(chans["A"], chans["C"])))
        w.writeframes(data.tobytes())


def main():
    only = sys.argv[1:]  # optional call ids, e.g. `generate.py call_007`
    with tempfile.TemporaryDirectory() as tmp:
        for call_id, (name, layout, opts) in FORMATS.items():
            if only and call_id not in only:
                continue
            events, chans, total = build(call_id, tmp)
            master = os.path.join(tmp, call_id + "_master.wav")
            write_wav(master, chans, total, layout)
            out = os.path.join(HERE, name)
            if opts is None:
                subprocess.run(
                    ["ffmpeg", "-loglevel", "error", "-y", "-i", master, "-c:a", "aac",
                     "-b:a", "48k", "-ar", "16000", out],
                    check=True,
                )
            else:
                subprocess.run(["sox", master] + opts + [out], check=True)
            with open(os.path.join(HERE, call_id + ".timeline.csv"), "w", newline="") as f:
                wr = csv.writer(f)
                wr.writerow(["role", "start_ms", "end_ms", "text"])
                for role, start, end, text, _ in events:
                    wr.writerow([ROLES[role], int(round(start * 1000)), int(round(end * 1000)), text])
            print(f"{name}: {total / RATE:.1f} s, {len(events)} turns, {layout}")


HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    main()
