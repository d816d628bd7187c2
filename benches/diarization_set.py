#!/usr/bin/env python3
"""Generate the held-out diarization set: synthetic two-party inbound contact-centre calls, for
measuring who speaks when in a mono recording and which speaker is the agent.

Each call: the agent greets with the company's name, the customer explains a problem, the agent
asks for the account number and postcode, sometimes puts the customer on hold (10-25 s of
silence or soft chords on the agent channel only), then resolves or transfers, and closes.
12-30 turns, 1-4 minutes; gaps between turns from -0.3 s (overlap, at most 5 % of the speech)
to 1.2 s; listener backchannels ("mm-hm", "right"), some overlapping, in about a third of the
calls; in about one in six a recorded IVR prompt on the agent channel in a third voice (a third
speaker for diarization). Each channel has its own brown line noise at -45..-35 dBFS.

Voices vary so that a tuning cannot fit one pair: Festival kal_diphone (male) and
cmu_us_slt_arctic_hts (female), optionally shifted with sox `pitch` (200-400 cents) and `tempo`
(0.9-1.1), and espeak-ng en-us, en-gb, en-gb-scotland, en-029 with +mN/+fN variants and varied
-p/-s. pair_kind (at least a third of the calls are one of the last two):
  male-female         base voices of different gender
  same-gender         same gender, different timbre (Festival voice or espeak variant)
  same-voice-shifted  one base voice for both roles, pitch-shifted 200-800 cents apart

HALVES: odd-numbered calls are `dev`, even-numbered ones `test` (truth.csv, column half). Tune
diarization thresholds (SAME_SPEAKER, MIN_SHARE, ...) and the role rules on the dev half ONLY;
measure on the test half once, after tuning. Another --seed gives a fresh set.

Writes into OUT_DIR (8 kHz 16-bit PCM WAV; deterministic for a seed):
  stereo/<id>.wav     left = agent (with IVR and hold music), right = customer
  mono/<id>.wav       the sum of both channels, scaled down only where it would clip
  swapped/<id>.wav    the stereo call with the channels exchanged (agent on the right)
  timeline/<id>.csv   role,start_ms,end_ms,text; role agent|customer|ivr|music (the truth)
  truth.csv           id,half,voice_agent,voice_customer,pair_kind,duration_s,third_voice
  manifest_{mono,stereo,swapped}.csv   callsift manifests, paths relative to OUT_DIR
Voice names: `kal`, `slt` or `espeak:<voice>/p<pitch>/s<wpm>`, then `/pitch<cents>` and
`/tempo<factor>` for the sox shifts.

Needs festival (festvox-kallpc16k, festvox-us-slt-hts), espeak-ng and sox.
Usage: python3 benches/diarization_set.py OUT_DIR [--calls N (24)] [--seed S (1)]
"""

import argparse
import csv
import math
import os
import random
import subprocess
import tempfile
import time
import wave
from array import array

RATE = 8000
LEAD_S, TAIL_S = 0.6, 1.0
MAX_OVERLAP = 0.05
NOISE_S = 600  # one repeatable brown-noise stream; each channel reads its own stretch of it
FEST = {"kal": ("(voice_kal_diphone)", "m"), "slt": ("(voice_cmu_us_slt_arctic_hts)", "f")}
ESPEAK = ["en-us", "en-gb", "en-gb-scotland", "en-029"]
VARIANTS = {"m": ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7"],
            "f": ["+f1", "+f2", "+f3", "+f4", "+f5"]}
KIND_CYCLE = ["same-gender", "male-female", "same-voice-shifted", "male-female"]

COMPANIES = {"energy": ["Northwind Energy", "Summit Gas and Power"], "water": ["Harbour Water"],
             "broadband": ["Bluebell Broadband", "Lakeside Fibre"], "mobile": ["Skylark Mobile"],
             "bank": ["Meridian Bank", "Copperleaf Building Society"],
             "insurance": ["Kestrel Insurance", "Orchard Home Insurance"],
             "parcels": ["Falcon Parcels", "Redwing Deliveries"]}
AGENTS = {"m": ["Tom", "Callum", "Rahul", "Daniel", "Kwame", "Marek", "Owen", "Luis"],
          "f": ["Priya", "Aisha", "Megan", "Sofia", "Hannah", "Joanne", "Grace", "Nadia"]}
CUSTOMERS = {"m": ["Peter Okafor", "Gareth Brennan", "Ian Whitfield", "Sanjay Mehta", "Colin Reid"],
             "f": ["Helen Marsh", "Deborah Quinn", "Fatima Begum", "Lucy Harper", "Janet Doyle"]}

# One block per scenario: sector|queue|team to transfer to|what the agent checks on hold, then
# O opening (customer), F follow-up (customer), Q agent question|customer answer,
# R resolution (agent), K the customer's reaction.
SCENARIOS = """
energy|billing|metering team|check the readings on your account
O Hi, yes, I'm calling about my latest bill. It's almost double what I normally pay, and nothing has changed in the house.
O Hello. I've just had a bill saying I owe over four hundred pounds, and I pay by direct debit every single month.
F I've been with you for six years and it's never been this high. I honestly thought it was a mistake.
Q Have you sent us a meter reading recently?|No, I don't think so. I thought you read the meters yourselves.
Q Do you have the meter in front of you at the moment?|Hang on. Yes, it says four one two eight six.
Q Is it the gas or the electricity bill that's gone up?|It's the electricity. The gas looks about normal.
R The bill was worked out from an estimated reading, and the estimate was far too high. I've put your real reading on, and the new bill comes to one hundred and twelve pounds.
K Oh, that's a relief. That sounds much more like it.

broadband|tech_support|technical support team|run a line test
O Hi there. My internet keeps dropping out every evening, usually around seven, and it's been going on for over a week.
O Hello, I'm having real trouble with my broadband. It disconnects several times a night and I work from home.
F I've already restarted the router more times than I can count, and it makes no difference at all.
Q What lights can you see on the front of the router?|There's a green one and then one that keeps flashing orange.
Q Is the router plugged straight into the main phone socket?|It goes through an extension cable, about three metres long.
Q Does it happen on the wired computer as well, or only on wireless?|Both, as far as I can tell. Everything goes at once.
R The line test shows a fault between the exchange and your property. I've booked an engineer for Thursday morning, between eight and one.
K Thursday is fine, I'll make sure I'm in.

bank|cards|fraud team|look at the recent activity on the card
O Hi, my card was declined at the supermarket this morning, and there's definitely money in the account.
O Hello, I tried to pay for petrol earlier and my debit card got refused twice. It was really embarrassing.
F I checked the app and the balance looks fine, so I don't know what's going on.
Q Have you used the card anywhere unusual in the last few days?|I bought some concert tickets online last night, that's about it.
Q Do you still have the card with you now?|Yes, it's right here in my hand.
Q Did you get a text from us asking you to confirm a payment?|I might have. I didn't recognise the number, so I ignored it.
R Our fraud system stopped the card after the ticket payment, just as a precaution. Now that you've confirmed it was you, I've taken the block off and the card will work straight away.
K Brilliant, thank you. I was starting to panic.

insurance|claims|claims handling team|check the cover on your policy
O Hi, I need to make a claim. A pipe burst under my kitchen sink last night and the floor is soaked.
O Hello, I'm calling about my home insurance. We've had a leak in the kitchen and the cupboards are ruined.
F We've turned the water off at the stopcock, but the units are swollen and the floor is lifting.
Q When did you first notice the water?|About eleven o'clock last night, when I came down for a glass of water.
Q Has anyone been out to repair the pipe yet?|A plumber came this morning and fixed the joint. I've got his invoice.
Q Is anyone in the home vulnerable or unable to stay there?|No, we're all fine. It's just the kitchen that's a mess.
R You do have escape of water cover, so I've opened a claim for you. Your reference is K L four four seven nine, and a loss adjuster will call you within two working days.
K Great, I'll write that reference down now.

mobile|billing|billing disputes team|go through the charges
O Hi, I've been charged nearly ninety pounds for roaming, and I thought my plan included Europe.
O Hello. I just got back from Spain and my bill is huge. Apparently I was roaming the whole time.
F I even checked before I went, and the website said it was included in my plan.
Q Which dates were you away?|From the second to the ninth of this month.
Q Did you add the travel bundle before you left?|I didn't know I had to. Nobody told me about that.
Q Were you using data, or mostly calls?|Mostly data, maps and messages, that sort of thing.
R Your plan did need the free travel add on, which wasn't switched on. As a one off, I've credited the full roaming charge and added the bundle for next time.
K That's really good of you, thank you.

parcels|orders|investigations team|check the driver's delivery notes
O Hi, the tracking says my parcel was delivered yesterday afternoon, but I haven't got it.
O Hello, I'm calling because my parcel is marked as delivered, and it's definitely not here.
F I was home all day, nobody knocked, and it isn't with any of the neighbours either.
Q Can I take the tracking number, please?|It's F P seven seven three, two nine one eight.
Q Did you leave any safe place instructions?|No, I asked for it to be handed to me.
Q Is there a porch or a side gate where it could have been left?|There's a side gate, but I've checked, and there's nothing there.
R The driver's photo shows a different front door, so it was left at the wrong address. I've opened an investigation, and if it isn't found in forty eight hours we'll send a replacement.
K Okay, well at least we know where it went.

water|faults|network team|look at the work in your area
O Hi, the water pressure in my house has been really low since Monday. The shower barely works.
O Hello, I'm ringing about the water supply. There's hardly anything coming out of the taps upstairs.
F A couple of the neighbours have said theirs is weak too, so I don't think it's just me.
Q Is the pressure low on the kitchen tap as well?|Yes, the kitchen is a bit better, but it's still poor.
Q Have you noticed any water on the pavement or the road nearby?|Actually, yes, there's a wet patch by the lamp post at the end of the road.
Q Is the water a normal colour?|It's clear, it's just that there isn't much of it.
R There's a burst main reported two streets away, and that's why the pressure is low. A repair crew is on site, and it should be back to normal by tonight.
K Right, that makes sense. Thanks for letting me know.

energy|retention|home moves team|look at your options
O Hi, I'm moving house next month, and I want to close my account.
O Hello, I need to cancel my energy supply please. We're selling the house.
F The completion date is the twenty eighth, so I need everything finished by then.
Q Do you know where you're moving to yet?|Yes, a flat in the same town, over on Station Road.
Q Would you like to take your tariff with you to the new address?|Maybe. I hadn't really thought about it.
Q Have you got a final meter reading arranged?|Not yet. Do I do that on the day?
R Your fixed tariff can move with you with no exit fee, and I've set a reminder for the final readings on the twenty eighth.
K That's easier than I expected, thank you.
"""
GREET = ["Thank you for calling {co}, this is {ag}, how can I help?",
         "Good morning, you're through to {co}, my name is {ag}. How can I help you today?",
         "Hello, {co} customer service, {ag} speaking. What can I do for you?",
         "Thanks for calling {co}. You're speaking with {ag}. How may I help?"]
ACK = ["I'm sorry to hear that. I'll do my best to sort it out for you.",
       "Oh dear, that's not what you want. Let's have a look.",
       "Right, I understand. I can certainly look into that for you.",
       "Okay, that must be frustrating. Let's see what's happened."]
ASK_ACC = ["Can I take your account number, please?",
           "Could I start with your name and account number?",
           "First of all, can I have the account number, please?"]
GIVE_ACC = ["Yes, it's {num}.", "Of course. It's {name}, and the account number is {num}.",
            "I've got it here somewhere. Here it is, {num}."]
ASK_PC = ["Thank you. And for security, can you confirm the postcode on the account?",
          "Lovely. Could you also give me the postcode registered on the account?",
          "Perfect. And the postcode, please?"]
GIVE_PC = ["It's {pc}.", "Sure, it's {pc}.", "{pc}."]
CONFIRM = ["Thank you, {title} {sur}, that's all confirmed.", "Great, I've found your account.",
           "Lovely, thanks for that. I can see your account now."]
HOLD_ASK = ["Would you mind if I put you on hold for a minute while I {why}?",
            "Is it okay if I place you on a short hold while I {why}?"]
HOLD_TELL = "I'm just going to put you on hold for a moment while I {why}."
HOLD_OK = ["Yes, that's fine.", "Sure, no problem.", "Go ahead."]
HOLD_BACK = ["Thank you for holding, {title} {sur}.", "Thanks for waiting.",
             "Sorry about the wait, thanks for bearing with me."]
TRANSFER = ["This is something our {team} will need to handle, so I'm going to transfer you now. "
            "I'll pass on your details, so you won't need to repeat them.",
            "I'm afraid I can't do that from here, but our {team} can. "
            "I'll put you through to them now, if that's okay."]
TRANSFER_OK = ["Okay, thank you for your help.", "Alright, that's fine."]
TRANSFER_END = "You're welcome. Please stay on the line while I connect you."
ANYTHING = ["Is there anything else I can help you with today?", "Was there anything else at all?"]
NO_MORE = ["No, that's everything, thank you.", "No, that's it. Thanks for sorting it out."]
ONE_MORE = ["Actually, one more thing. Will I get this in writing?",
            "Yes, you'll get an email confirming everything within the hour.", "Great, thanks."]
CLOSE = ["Thanks for calling {co}, {title} {sur}. Have a lovely day.",
         "You're welcome. Thank you for calling {co}, take care.",
         "Thanks for your call. Goodbye now."]
BYE = ["Bye.", "Thanks, bye.", "Cheers, bye bye."]
EXTRA = [("Can I check the best phone number to reach you on?",
          "Yes, it's oh seven seven {d1}, {d2}."),
         ("Is your email address still the one on the account?",
          "Yes, that's still the right one."),
         ("Would you like a text message when that's done?", "Yes please, that would be helpful."),
         ("I'll also add a note to your account about today's call.", "Okay, good to know."),
         ("Have you contacted us about this before?", "No, this is the first time I've called."),
         ("Are you happy for us to contact you by email?", "Yes, email is best for me."),
         ("And just to confirm, are you the account holder?", "Yes, it's in my name.")]
BACKCHANNEL = ["Mm-hm.", "Right.", "Okay.", "Yeah.", "Uh-huh.", "I see.", "Sure."]
IVR = ["Your call may be recorded for training purposes. Please hold while we connect you.",
       "Welcome to {co}. Calls may be recorded for training and quality purposes. "
       "Please hold while we connect you to an advisor."]
DIGITS = "zero one two three four five six seven eight nine".split()


def parse_scenarios(text):
    """The SCENARIOS blocks as dicts: sector, queue, team, why, O (list), F, Q (pairs), R, K."""
    out = []
    for block in text.strip().split("\n\n"):
        head, *lines = block.splitlines()
        sc = dict(zip(("sector", "queue", "team", "why"), head.split("|")), O=[], Q=[])
        for line in lines:
            tag, body = line[0], line[2:]
            if tag in "OQ":
                sc[tag].append(tuple(body.split("|")) if tag == "Q" else body)
            else:
                sc[tag] = body
        out.append(sc)
    return out


# ---- voices ---------------------------------------------------------------------------------

def voice_name(v):
    name = v["base"] if v["engine"] == "festival" else f"espeak:{v['base']}/p{v['p']}/s{v['s']}"
    if v["cents"]:
        name += f"/pitch{v['cents']:+d}"
    if v["tempo"] != 1.0:
        name += f"/tempo{v['tempo']:.2f}"
    return name


def timbre(v):
    """What makes a voice sound like itself: the Festival voice, or the espeak-ng variant."""
    return v["base"] if v["engine"] == "festival" else "+" + v["base"].partition("+")[2]


def draw_base(rng, gender, exclude=()):
    """An unshifted base voice of a gender (Festival or espeak-ng), no timbre in exclude."""
    fest = next(b for b, (_, g) in FEST.items() if g == gender)
    while True:
        if rng.random() < 0.45:
            v = {"engine": "festival", "base": fest, "p": 0, "s": 0}
        else:
            v = {"engine": "espeak", "base": rng.choice(ESPEAK) + rng.choice(VARIANTS[gender]),
                 "p": rng.randint(30, 70), "s": rng.randint(140, 180)}
        if timbre(v) not in exclude:
            return dict(v, gender=gender, cents=0, tempo=1.0, level=-rng.uniform(3, 8))


def shift_cents(rng, sign=None):
    return (sign or rng.choice([-1, 1])) * rng.randint(200, 400)


def maybe_tempo(rng, v):
    if rng.random() < 0.4:
        v["tempo"] = round(rng.uniform(0.9, 1.1), 2)
    return v


def maybe_shift(rng, v):
    if rng.random() < (0.5 if v["engine"] == "festival" else 0.25):
        v["cents"] = shift_cents(rng)
    return maybe_tempo(rng, v)


def draw_pair(rng, kind):
    """(agent voice, customer voice) for a pair kind."""
    if kind == "same-voice-shifted":  # one base voice, shifted 200-800 cents apart
        a = draw_base(rng, rng.choice("mf"))
        c = dict(a, level=-rng.uniform(3, 8))
        a["cents"] = 0 if rng.random() < 0.4 else shift_cents(rng)
        c["cents"] = shift_cents(rng, -1 if a["cents"] > 0 else 1 if a["cents"] < 0 else None)
        return maybe_tempo(rng, a), maybe_tempo(rng, c)
    g1 = rng.choice("mf")
    g2 = g1 if kind == "same-gender" else {"m": "f", "f": "m"}[g1]
    a = maybe_shift(rng, draw_base(rng, g1))
    c = maybe_shift(rng, draw_base(rng, g2, exclude=(timbre(a),)))
    return (a, c) if rng.random() < 0.5 else (c, a)


def synth(v, text, tmp, cache):
    """One utterance as 8 kHz telephone-band samples (floats), silence trimmed."""
    key = (voice_name(v), v["level"], text)
    if key not in cache:
        raw, out, txt = (os.path.join(tmp, n) for n in ("raw.wav", "utt.wav", "u.txt"))
        if v["engine"] == "festival":
            with open(txt, "w") as f:
                f.write(text + "\n")
            run(["text2wave", "-eval", FEST[v["base"]][0], txt, "-o", raw])
        else:
            run(["espeak-ng", "-v", v["base"], "-p", str(v["p"]), "-s", str(v["s"]), "-w", raw,
                 text])
        fx = (["pitch", str(v["cents"])] if v["cents"] else []) + \
             (["tempo", "-s", str(v["tempo"])] if v["tempo"] != 1.0 else [])
        trim = ["silence", "1", "0.02", "0.5%", "reverse"]
        run(["sox", "-V1", raw, "-r", str(RATE), "-c", "1", "-b", "16", out] + fx +
            ["sinc", "300-3400"] + trim + trim + ["norm", f"{v['level']:.1f}"])
        cache[key] = read_wav(out)
    return cache[key]


# ---- dialogue -------------------------------------------------------------------------------

def spoken_digits(rng, n):
    d = [rng.choice(DIGITS) for _ in range(n)]
    return " ".join(d[: n // 2]) + ", " + " ".join(d[n // 2:])


def postcode(rng):
    area = rng.choice(["L S", "M", "B", "S K", "N E", "C F", "G", "E H", "B S", "N G"])
    letters = " ".join(rng.choice("BDEFGHJLNPRSTW") for _ in range(2))
    return f"{area} {rng.choice(DIGITS[1:])}, {rng.choice(DIGITS[1:])} {letters}"


def make_script(rng, cast, extras):
    """The call as steps: ("A"|"C", text), ("ivr", text) and ("hold", seconds, music)."""
    sc = cast["scenario"]
    f = dict(co=cast["company"], ag=cast["agent_name"], title=cast["title"], sur=cast["surname"],
             name=cast["customer_name"], num=spoken_digits(rng, 8), pc=postcode(rng),
             why=sc["why"], team=sc["team"], d1=spoken_digits(rng, 4), d2=spoken_digits(rng, 6))
    pick = lambda options: rng.choice(options).format(**f)  # noqa: E731
    s = [("ivr", pick(IVR))] if cast["ivr"] else []
    s += [("A", pick(GREET)), ("C", rng.choice(sc["O"]))]
    if rng.random() < 0.6:
        s += [("A", pick(ACK)), ("C", sc["F"]), ("A", pick(ASK_ACC))]
    else:
        s += [("A", pick(ACK) + " " + pick(ASK_ACC))]
    s += [("C", pick(GIVE_ACC)), ("A", pick(ASK_PC)), ("C", pick(GIVE_PC))]
    qs = rng.sample(sc["Q"], rng.randint(1, 3))
    s += [("A", pick(CONFIRM) + " " + qs[0][0]), ("C", qs[0][1])]
    for q, a in qs[1:] + extras:
        s += [("A", q.format(**f)), ("C", a.format(**f))]
    back = ""
    if cast["hold"]:
        ask = rng.random() < 0.75  # usually with the customer's permission
        s += [("A", pick(HOLD_ASK) if ask else HOLD_TELL.format(**f))]
        s += [("C", pick(HOLD_OK))] if ask else []
        s += [("hold", round(rng.uniform(10, 25), 1), rng.random() < 0.5)]
        back = pick(HOLD_BACK) + " "
    if cast["transfer"]:
        return s + [("A", back + pick(TRANSFER)), ("C", pick(TRANSFER_OK)), ("A", TRANSFER_END)]
    s += [("A", back + sc["R"]), ("C", sc["K"]), ("A", pick(ANYTHING))]
    if rng.random() < 0.3:
        s += [("C", ONE_MORE[0]), ("A", ONE_MORE[1]), ("C", ONE_MORE[2]), ("A", pick(ANYTHING))]
    return s + [("C", pick(NO_MORE)), ("A", pick(CLOSE)), ("C", pick(BYE))]


# ---- timing ---------------------------------------------------------------------------------

def side(role):
    """The channel of an event role: A (agent, IVR), C (customer); None for music."""
    return "C" if role == "C" else "A" if role in ("A", "I") else None


def turn_start(rng, prev, last, role, after_hold, allow_overlap):
    """When the next line starts, from the previous event (start, end) and speaker."""
    if after_hold is not None:
        return after_hold
    if last == "ivr":
        return prev[1] + rng.uniform(1.0, 2.5)
    if role == last:
        return prev[1] + rng.uniform(0.3, 1.0)
    if allow_overlap and rng.random() < 0.12:  # the next speaker starts before the other ends
        return max(prev[1] - rng.uniform(0.05, 0.3), prev[0] + 0.3)
    return prev[1] + rng.triangular(0.05, 1.2, 0.35)


def place(steps, audio, rng, backchannels, allow_overlap):
    """Events (role A|C|I|M, start_s, end_s, text, samples) from the steps and their audio."""
    ev, prev, last, hold_end = [], (0.0, LEAD_S), None, None
    busy = {"A": 0.0, "C": 0.0}
    for st, pcm in zip(steps, audio):
        if st[0] == "hold":
            hold_end = prev[1] + st[1]
            if st[2]:
                ev.append(("M", prev[1] + 0.5, hold_end - 0.5, "", pcm))
            continue
        role = "A" if st[0] == "ivr" else st[0]
        start = max(turn_start(rng, prev, last, role, hold_end, allow_overlap), busy[role] + 0.1)
        end = start + len(pcm) / RATE
        ev.append(("I" if st[0] == "ivr" else role, start, end, st[1], pcm))
        busy[role], prev, last, hold_end = end, (start, max(prev[1], end)), st[0], None
    said = list(ev)
    for k, (role, start, end, _, _) in enumerate(said):
        if not backchannels or role not in ("A", "C") or end - start < 2.5 or rng.random() > 0.35:
            continue
        other = "C" if role == "A" else "A"
        text = rng.choice(BACKCHANNEL)
        pcm = backchannels[other][text]
        nxt = said[k + 1][1] if k + 1 < len(said) else end + 2
        if allow_overlap and rng.random() < 0.6:  # during the turn
            t = start + rng.uniform(0.45, 0.8) * (end - start)
        elif nxt - end > len(pcm) / RATE + 0.3:  # in the pause after it
            t = end + 0.1
        else:
            continue
        t_end = t + len(pcm) / RATE
        if all(e[2] + 0.2 < t or e[1] > t_end + 0.2 for e in ev if side(e[0]) == other):
            ev.append((other, t, t_end, text, pcm))
    return sorted(ev, key=lambda e: e[1])


def overlap_share(ev):
    """Time both channels speak over the time either speaks (music excluded)."""
    spans = {"A": [], "C": []}
    for role, s, e, _, _ in ev:
        if side(role):
            spans[side(role)].append((s, e))
    inter = sum(max(0.0, min(e1, e2) - max(s1, s2))
                for s1, e1 in spans["A"] for s2, e2 in spans["C"])
    total = sum(e - s for s, e in spans["A"] + spans["C"]) - inter
    return inter / total if total else 0.0


# ---- audio ----------------------------------------------------------------------------------

def run(cmd):
    """A tool; sox with -R (repeatable: fixed seeds for its dither and noise)."""
    subprocess.run(cmd[:1] + ["-R"] + cmd[1:] if cmd[0] == "sox" else cmd,
                   check=True, stdout=subprocess.DEVNULL)


def read_wav(path):
    with wave.open(path) as w:
        return array("d", array("h", w.readframes(w.getnframes())))


def hold_music(seconds, rng, tmp):
    """Soft hold music for the agent channel: four sustained chords, -24 dBFS peak, repeated."""
    root, parts = rng.choice([196.0, 220.0, 246.9, 261.6]), []
    for k, chord in enumerate([(0, 4, 7), (-3, 0, 4), (-7, -3, 0), (-5, -1, 2)]):
        parts.append(os.path.join(tmp, f"chord{k}.wav"))
        tones = [w for st in chord for w in ("sine", f"{root * 2 ** (st / 12):.1f}")]
        run(["sox", "-r", str(RATE), "-c", "3", "-n", "-c", "1", "-b", "16", parts[-1],
             "synth", "1.6"] + tones + ["tremolo", "4", "30", "fade", "q", "0.2", "1.6", "0.4",
                                        "gain", "-n", "-24"])
    out = os.path.join(tmp, "music.wav")
    run(["sox"] + parts + [out, "repeat", str(int(seconds / 6.4) + 1),
                           "trim", "0", f"{seconds:.2f}"])
    return read_wav(out)


def noise_stream(tmp):
    """A long brown-noise stream at unit RMS, the same on every run (sox -R)."""
    p = os.path.join(tmp, "noise.wav")
    run(["sox", "-r", str(RATE), "-n", "-c", "1", "-b", "16", p, "synth", str(NOISE_S),
         "brownnoise", "highpass", "100"])
    x = read_wav(p)
    rms = math.sqrt(sum(s * s for s in x) / len(x))
    return array("d", (s / rms for s in x))


def mix(ev, noise, rng):
    """Agent and customer channels (floats): the events over independent line noise."""
    total = int((max(e[2] for e in ev) + TAIL_S) * RATE)
    chans = {}
    for ch in "AC":  # each channel its own stretch of the noise, at -45..-35 dBFS
        gain = 32768 * 10 ** (-rng.uniform(35, 45) / 20)
        off = rng.randrange(len(noise) - total)
        chans[ch] = array("d", (s * gain for s in noise[off:off + total]))
    for role, start, _, _, pcm in ev:
        ch, off = chans[side(role) or "A"], int(round(start * RATE))
        for i, s in enumerate(pcm):
            ch[off + i] += s
    return chans, total


def write_wav(path, channels):
    """16-bit PCM at RATE, one float array per channel, clipped to the 16-bit range."""
    with wave.open(path, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(RATE)
        data = array("h", bytes(2 * len(channels) * len(channels[0])))
        for k, ch in enumerate(channels):
            data[k::len(channels)] = array(
                "h", (max(-32768, min(32767, int(round(v)))) for v in ch))
        w.writeframes(data.tobytes())


def write_call(out, cid, chans):
    """stereo/ (agent left), swapped/ (agent right) and mono/ (the sum, scaled if it clips)."""
    a, c = chans["A"], chans["C"]
    write_wav(os.path.join(out, "stereo", cid + ".wav"), [a, c])
    write_wav(os.path.join(out, "swapped", cid + ".wav"), [c, a])
    mono = array("d", (x + y for x, y in zip(a, c)))
    peak = max(max(mono), -min(mono))
    scale = min(1.0, 32000.0 / peak) if peak else 1.0
    write_wav(os.path.join(out, "mono", cid + ".wav"), [array("d", (x * scale for x in mono))])


# ---- the set --------------------------------------------------------------------------------

def spread(n, per_block, rng):
    """Call numbers (1-based): per_block in each block of six calls, alternating dev and test;
    the same choice for the first calls whatever n is."""
    chosen, odd = set(), 1
    for b in range(0, n, 6):
        for _ in range(per_block):
            cand = [i for i in range(b + 1, b + 7) if i % 2 == odd and i not in chosen]
            chosen.add(rng.choice(cand))
            odd ^= 1
    return {i for i in chosen if i <= n}


def cast_call(rng, i, kind, ivr, bc):
    """Who is on the call and what happens: voices, names, scenario, hold, transfer."""
    a, c = draw_pair(rng, kind)
    sc = rng.choice(SCENARIOS)
    cust = rng.choice(CUSTOMERS[c["gender"]])
    third = None
    if ivr:  # a recorded prompt in a third, distinct voice
        third = maybe_shift(rng, draw_base(rng, rng.choice("mf"), (timbre(a), timbre(c))))
    clock = f"{8 + rng.randrange(10):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    return {"kind": kind, "agent": a, "customer": c, "third": third, "ivr": ivr, "bc": bc,
            "scenario": sc, "company": rng.choice(COMPANIES[sc["sector"]]),
            "agent_name": rng.choice(AGENTS[a["gender"]]), "customer_name": cust,
            "title": "Mr" if c["gender"] == "m" else "Ms", "surname": cust.split()[1],
            "hold": rng.random() < 0.6, "transfer": rng.random() < 0.3,
            "target_s": rng.uniform(60, 180),
            "started": f"2027-03-{1 + i % 28:02d}T{clock}Z"}


def build_call(cid, cast, seed, noise, tmp):
    """Synthesise and place one call; padding exchanges go in until it lasts its target."""
    cache, voice = {}, {"A": cast["agent"], "C": cast["customer"], "ivr": cast["third"]}
    bcs = {r: {t: synth(voice[r], t, tmp, cache) for t in BACKCHANNEL} for r in "AC"} \
        if cast["bc"] else None
    extras = random.Random(f"{seed}:{cid}:extra").sample(EXTRA, len(EXTRA))
    for extra in range(len(EXTRA) + 1):
        rng = random.Random(f"{seed}:{cid}:script")
        steps = make_script(rng, cast, extras[:extra])
        audio = [(hold_music(st[1] - 1.0, rng, tmp) if st[2] else None) if st[0] == "hold"
                 else synth(voice[st[0]], st[1], tmp, cache) for st in steps]
        for allow in (True, False):  # without overlaps if they came to more than MAX_OVERLAP
            ev = place(steps, audio, random.Random(f"{seed}:{cid}:time"), bcs, allow)
            if overlap_share(ev) <= MAX_OVERLAP:
                break
        turns = sum(1 for st in steps if st[0] != "hold")
        done = max(e[2] for e in ev) + TAIL_S >= cast["target_s"] and turns >= 12
        if done or extra == len(EXTRA) or turns + 2 > 30:
            break
    chans, total = mix(ev, noise, random.Random(f"{seed}:{cid}:noise"))
    return ev, chans, total, turns


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_tables(out, rows):
    """truth.csv and the three manifests (paths relative to OUT_DIR)."""
    write_csv(os.path.join(out, "truth.csv"), ["id", "half", "voice_agent", "voice_customer",
                                                "pair_kind", "duration_s", "third_voice"],
              [r["truth"] for r in rows])
    for layout in ("mono", "stereo", "swapped"):
        write_csv(os.path.join(out, f"manifest_{layout}.csv"),
                  ["call_id", "path", "agent_id", "customer_id", "started_at", "queue",
                   "contact_channel"],
                  [[r["truth"][0], f"{layout}/{r['truth'][0]}.wav"] + r["meta"] for r in rows])


def write_timeline(path, ev):
    names = {"A": "agent", "C": "customer", "I": "ivr", "M": "music"}
    write_csv(path, ["role", "start_ms", "end_ms", "text"],
              [[names[r], int(round(s * 1000)), int(round(e * 1000)), t] for r, s, e, t, _ in ev])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", metavar="OUT_DIR")
    ap.add_argument("--calls", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for sub in ("stereo", "mono", "swapped", "timeline"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    ivr = spread(a.calls, 1, random.Random(f"{a.seed}:ivr"))
    bc = spread(a.calls, 2, random.Random(f"{a.seed}:backchannels"))
    t0, rows = time.time(), []
    with tempfile.TemporaryDirectory() as tmp:
        noise = noise_stream(tmp)
        for i in range(1, a.calls + 1):
            cid, kind = f"dz_{i:03d}", KIND_CYCLE[(i - 1) // 2 % len(KIND_CYCLE)]
            cast = cast_call(random.Random(f"{a.seed}:{cid}"), i, kind, i in ivr, i in bc)
            ev, chans, total, turns = build_call(cid, cast, a.seed, noise, tmp)
            write_call(a.out, cid, chans)
            write_timeline(os.path.join(a.out, "timeline", cid + ".csv"), ev)
            dur, half = total / RATE, "dev" if i % 2 else "test"
            third = voice_name(cast["third"]) if cast["third"] else ""
            rows.append({"truth": [cid, half, voice_name(cast["agent"]),
                                   voice_name(cast["customer"]), kind, f"{dur:.2f}", third],
                         "meta": [f"ag-{cast['agent_name'].lower()}-{i:03d}", f"cust-{7000 + i}",
                                  cast["started"], cast["scenario"]["queue"], "phone"]})
            events = "".join(f", {k}" for k in ("hold", "transfer", "ivr") if cast[k])
            print(f"{cid} ({half}, {kind}): {dur:.1f} s, {turns} turns, "
                  f"{sum(e[3] in BACKCHANNEL for e in ev)} backchannels, "
                  f"overlap {100 * overlap_share(ev):.1f} %{events}", flush=True)
    write_tables(a.out, rows)
    total_s = sum(float(r["truth"][5]) for r in rows)
    print(f"{len(rows)} calls, {total_s / 60:.1f} min of audio, {time.time() - t0:.0f} s")


SCENARIOS = parse_scenarios(SCENARIOS)

if __name__ == "__main__":
    main()
