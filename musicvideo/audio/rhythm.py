"""Tempo, beats and downbeats (bar starts), stable on real recordings.

Pipeline, each step chosen by measurement on real tracks (``bench/song_robustness.py``):

1. Only the sounding part of the song is analysed (``active_span``): leading and trailing digital
   silence is cut before the features are computed, so 0.5 s of silence in front of a song gives
   exactly the same beats, shifted, and no beat ever lands in that silence. Steady noise there
   (hiss, rumble, hum: ``noise_floor``) is cut the same way, where the music rises above it.
2. The onset curve (``features.onset_flux``) is a level-relative log-mel spectral flux: the same
   for a copy at another gain, and blind to an MP3 encoder's spectral holes under the floor.
3. One tempo for the whole song (``estimate_period``): the mean autocorrelation tempogram, built
   block by block over exactly the windows of the whole-song tempogram, read at one, two and three
   beat periods and at half a period, times a log-normal prior. Scoring the multiples ties the
   tempo to a level of the metre (no 3:5 lag on a 3-3-2 figure, no 2:1 jump under a stretch); the
   chosen level's period is then refined on up to 12 multiples through a cubic spline
   (``refine_period``), so that it scales with a time-stretch to 0.03 % (it was off by up to 1.2 %).
   Where the tempo moves (the path of step 4 swings by more than 2 %), the level is chosen again
   on the tempogram read along that path (``song_tempo``): the mean over a moving tempo smears the
   longer lags, and a real track replayed along a +-6 % sine was read at double tempo (beat F
   0.667; now 1.00, every other bench copy unchanged). Where two peaks of one level nearly tie (a
   piece with long sections at two tempi), the one whose tempo path gathers more evidence is taken
   (``anchored_period``): the argmax alone read such a piece at 110 BPM and its stretched copy at
   116, and the path stayed at each copy's own tempo wherever a 6 s window could not tell them apart.
4. Beats from Ellis's (2007) dynamic-programming tracker, written here with that fractional
   period, held tightly at it, on the onset curve read relative to its surroundings, with each
   onset spread over 1/12 of a beat (``track_beats_dp``); the path ends at the last clear onset and
   the grid goes on at the period from there. The period it is held at follows the song's tempo
   (``tempo_path``, 5 Dec): a Viterbi path through 6 s tempograms every second, within +-20 % of
   the song's tempo, exactly the song's period where the tempo holds. Held at one period, the
   tracker could not follow a band without a click: four steady bench tracks replayed along a
   known speed curve (``musicvideo.testing.tempo``; bench ``warped``) gave beat F against the
   carried-over beats 0.706-0.912 for +-8 % steps and 0.547-0.839 for a +-6 % sine; with the path
   0.959-0.997 and 0.667-0.993 (the 0.667 is a tempo level flip in ``estimate_period``: the sine
   smears the longer lags). On the bench's copies it costs and gains (stretch beat F min / mean,
   tuned 0.936/0.985 -> 0.929/0.983, drums 0.784/0.970 -> 0.945/0.990, held-out Wesnoth mean
   0.769 -> 0.783; held-out MP3 mean 0.978 -> 0.962); tuned shift, gain and MP3 stay 1.00. The
   candidates are steps around the refined period itself: a grid of steps that missed it by
   0.25 % drifted frantic's MP3 copy off by a beat (MP3 F 0.952). Change costs of 100-10000 per
   squared log ratio and pulls of 0-50 were measured: 500 and 20 keep every shift, gain and MP3
   figure of the tuned and drum sets at 1.00; 300 and 10 did too, but a held-out gain copy fell to
   0.887; 1000 and 0 lost frantic's MP3 (0.956); 3000 and more follow less (warped steps min
   0.84, at 10000 0.73). The beat-pointer DBN below follows a moving tempo as well (warped steps
   0.987-1.00, sine 0.653-0.999) but holds far less on the copies (tuned MP3 min 0.867, stretch
   mean 0.816). A beat-pointer dynamic Bayesian network
   decoded with Viterbi (Whiteley, Cemgil & Godsill 2006, in the beat-only form madmom uses;
   ``track_beats_dbn``) is measured beside it on the same curve and tempo; librosa's own
   ``beat_track`` too. The one learned tracker whose weights ship in its wheel, BeatNet 1.1.3
   (CC BY 4.0; it pins numba 0.54 and imports madmom, so it was run outside this project, its
   CRNN on madmom's own features, decoded by madmom's bar-pointer DBN), was measured on four of
   the bench's Wesnoth tracks (frantic, knalgan_theme, siege_of_laurelmor, heroes_rite): beat F
   under stretch 0.49-0.69, gain (-6 dB) 0.49-0.83, MP3 0.70-0.88 and a 0.5 s shift 0.76-1.00,
   where the tracker here gives 0.29-0.95 under stretch and 1.00 under the other three. Its
   network is causal (built for streaming) and its log spectrogram not level-relative. madmom's
   own models are CC BY-NC-SA and beat_this downloads its weights at run time.
   What was left of the stretch gap before the tempo path (beat F 0.936 on frantic, 0.948 on knalgan_theme) was
   passages whose onsets fit two phases of the same tempo (syncopated orchestral figures,
   frantic 38-48 s) or no steady tempo (knalgan_theme 96-108 s, where the path follows the noise
   of a rubato passage), decided by small differences between the copies' onset curves. Measured
   and dropped, on those two tracks (stretch beat F frantic/knalgan_theme, before 0.862/0.942): a
   time-varying period for the tracker, from the local tempogram within +-6-10 % smoothed over
   8-30 s (0.71-0.87/0.82-0.90, with tightness up to 1000 too) or from the first path's beat
   intervals (0.81-0.88/0.94); a per-frame comb over +-1-4 beats (<= 0.90/0.94); compressing or
   capping the onset curve (0.56-0.77/0.91-0.96); an off-beat penalty (0.89-0.96/0.91-0.96 as
   its weight goes from 0.2 to 0.6, with MP3 0.97-0.98 on knalgan_theme and stretch 0.955 on
   mainzik); low-band flux, kick or chord-change cues on every beat and a 4-state bar-pointer DP
   with chord-change cues (0.62-0.95 on frantic, MP3 down to 0.82); a decoding grid 4x finer
   than the frames (0.89/0.94, MP3 0.985 on knalgan_theme).
5. A song at a steady tempo gets one exact grid (``steady_grid``): where at least 90 % of the
   tracked beats lie within 0.12 of a beat of one straight line, that line, fitted by least
   squares, replaces them. Most produced music is made to a click; the grid bridges a passage
   where the path slid onto the off-beat and back, and is not quantised to frames. On the bench
   (beat F under stretch, tuned / held out): 0.977 / 0.769 mean before, 0.985 / 0.769 after, and
   stretch downbeat F min 0.295 -> 0.927 (northerners' bar vote stops being a coin toss once its
   beats are exact); shift, gain and MP3 unchanged. Measured and dropped: a tempo path (Viterbi
   over 2 s blocks' tempograms within +-25 % of the song's tempo, segments refined and tracked at
   their own period) found the held-out siege_of_laurelmor's real changes (110/116/100/105 BPM;
   stretch F 0.50 -> 0.87) but also a change in frantic that its beats do not follow (MP3 F 1.00
   -> 0.74), and the two could not be told apart by how much the change gained; piecewise grids
   (a Viterbi over the beats' phase, with drift and rare jumps) lost MP3 F 1.00 on four tracks.
   A steady song whose tracked beats sat on the off-beat for a whole passage is off its grid for
   more than a tenth of its beats; where they all lie on a grid of half beats, the half where the
   tracker's score sums higher is the beat grid (``half_beat_grid``). A time-stretch by a phase
   vocoder or Rubber Band smears attacks until on- and off-beat eighths weigh alike in a passage,
   and a copy held the off-beat there: machine_wars' phase-vocoder copy for 80 s (beat F 0.69 ->
   1.00), loyalists' Rubber Band and phase-vocoder copies for their first 60 s (0.62 -> 1.00).
   Where the two halves' onsets tie (eighths as loud as the beats), the kick drum picks the half:
   etr calmrace's original slid onto the off-beat at 28 s, its atempo copy did not (0.26 -> 1.00).
   The same on a grid of quarter beats, for a song sequenced at an exact tempo whose tracker held a
   sixteenth's offset through whole passages (``QUARTER_BEAT_SHARE``): nexuiz thru-the-mirror's
   stretched copy 0.871 -> 1.00, brainsukker's 0.928 -> 1.00, warzone legacy_track16's 0.377 -> 1.00
   (its MP3 copy 0.912 -> 1.00).
   A steady song with a passage whose onsets hold no beat (an intro pad, a breakdown) had tracked
   beats that wandered there, each copy its own way, and fell short of the share: an off-grid beat
   now counts against the grid only where its onsets support it (``UNSUPPORTED_RATIO``) and the
   grid gathers most of the tracked beats' score (``GRID_SCORE_SHARE``). Stretch beat F, atempo /
   Rubber Band / phase vocoder: the drum-kit pirate 0.96 / 0.83 / 0.92 -> 1.00 in all three, the
   orchestral vengeful 0.79 / 0.81 / 0.68 -> 1.00 (its MP3 copy 0.95 -> 1.00); breaking_the_chains'
   phase-vocoder copy, steady where its original is not, 0.74 -> 0.55. The warped tracks unchanged.
   Measured on the warped tracks and dropped: a pull of the DP toward the fitted grid (a comb added
   to the onset score) made 18 of 24 bench tracks "steady", every copy consistent (F 1.00), but a
   grid forced on a moving tempo: warped steps F 0.54-0.67. Consistency alone can flatter; the
   warped tracks have a truth. Tracking eighth notes and taking every other one by a whole-song
   vote: tuned MP3 min 0.327 (the vote's parity flips). The grid is fitted last to the onsets
   themselves, not to the tracked beats (``refine_grid``): the tracker holds the tempogram's
   period, and a copy whose period read 0.057 % fast drifted off its beat after 150 s.
6. Downbeats pick, among the ``beats_per_bar`` phases, the one where chords change and the kick drum
   lands most (Goto 2001; Papadopoulos & Peeters 2011), voted over the song's bars with the first bar
   left out: where music starts after silence everything "changes", and that step must not decide
   the bar. On an exact grid (step 5) one vote decides every bar. Tracked beats can slip (a beat
   added or skipped in a rubato passage), and one vote then put every bar after the slip on the
   wrong beat: the bars follow a Viterbi path over each beat's place in the bar instead
   (``bar_positions``), which re-aligns them where the cues agree on it for about eight bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import librosa
import numpy as np
from scipy.interpolate import CubicSpline

from mediakit.numba_cache import load_librosa_kernels
from musicvideo.audio.features import ANALYSIS_SR, Features, onset_envelope, segment_aggregate

FALLBACK_BPM = 120.0
# Onset strength on the tracked beats over its mean: white noise scores 1.4-1.7 (the tracker still
# finds "beats" on random peaks), the synthetic songs 11-26, a click track 28.
MIN_PULSE_CLARITY = 2.0
# A time-stretch by a phase vocoder (librosa's time_stretch) smears each attack over its window, and
# that onset strength halves (Wesnoth pieces 2.3-4.7 -> 1.9-2.2, every bench track 0.45-0.6 times
# its original's; bench ``stretch_pv``), so four orchestral pieces whose original has a beat fell
# back to the even grid. Their tempogram still repeats at the beat (``pulse_periodicity``): a song
# passes where either measure does. White and brown noise of 10-60 s read -0.02 to 0.013; the bench's tracks 0.019-0.6
# (heroes_rite, whose original has no pulse to follow, 0.014 and 0.001 stretched).
MIN_PERIODICITY = 0.03
# Samples quieter than this, relative to the song's peak, count as silence at its ends: -60 dB is
# below any fade a listener hears yet above MP3 and dither noise in a digital-silence lead-in.
SILENCE_REL_DB = -60.0
# A song may open (or end) on steady noise instead of digital silence: tape hiss, a vinyl rip's
# surface noise, room tone. Frames more than NOISE_REL_DB below the song's loud level are not
# music; where they hold noise that stays within NOISE_SPREAD_DB of its median level for at least
# NOISE_MIN_S, the music starts where the signal rises NOISE_MARGIN_DB above the noise's sample
# peak. With -70 dBFS of white noise before a song instead of silence, the noise counted as music:
# beats in it, the music's start read as an onset (frantic beat F 0.82, downbeats 0.69), sections
# moved on 16 of the bench's 38 tracks.
NOISE_FRAME = ANALYSIS_SR // 20   # 50 ms: the level of a 30 Hz rumble still reads steady
NOISE_REL_DB = -50.0
NOISE_SPREAD_DB = 6.0
NOISE_TREND_DB = 3.0
NOISE_RISE_S = 0.5
NOISE_RISE_DB = 20.0
NOISE_MIN_S = 0.1
NOISE_MARGIN_DB = 6.0
# A floor that is louder than that (mains hum at -62 dBFS under a song whose loud level is -10 dBFS)
# or that a fade sinks into is found another way: the file's first (or last) NOISE_LONG_S all lie
# within NOISE_SPREAD_DB of their median, at least NOISE_QUIET_DB under the loud level. Music is not
# that flat for that long that quietly; a fade, a reverb tail or a quiet intro moves. Without this,
# 2 s of hum after a song's fade-out counted as music: the last bars and the timbre z-scores took
# it in, and mainzik's sections moved (bench ``hum``).
NOISE_LONG_S = 1.0
NOISE_QUIET_DB = 40.0
# A shorter flat floor that loud is noise too where the music then rises NOISE_RISE_DB out of it
# within NOISE_RISE_S, as out of the opening rule's floor: a song that opens on 0.25-1 s of such hum
# and ends without any floor (cut, or faded to digital silence) had its lead counted as music, so
# that the music's start, and the bars and sections cut from it, moved by the lead.
NOISE_SHORT_S = 0.25
SCAN_BLOCK = 1 << 16
# 12 s of onset curve per tempogram window: long enough to see three beats at 50 BPM, the
# multiples that tie a tempo to its metrical level (``estimate_period``).
TEMPOGRAM_WIN = 768
TEMPOGRAM_BLOCK = 256                       # frames per block: librosa holds ~15 MB of FFTs for it
MIN_BPM, MAX_BPM = 50.0, 240.0
PERIOD_STEP = 0.05                          # frames: a 120 BPM beat is resolved to 0.1 %
# Multiples of a candidate beat period that must repeat too (beat, two beats, three beats), and
# the weight of its half (the eighth notes): together they pick a level of the metre rather than a
# lag that happens to correlate (5/8 of a bar on a real 3-3-2 track: 107 BPM instead of 134).
TEMPO_MULTIPLES = 3
TEMPO_HALF_WEIGHT = 0.5
# Widths (octaves) of the log-normal tempo prior around 120 BPM, below and above it. A 1.05
# time-stretch moves every candidate 0.07 octave along the prior; with 1.0 octave on both sides
# that changed the ratio of a tempo and its double by 7 % and flipped 4 of 20 real tracks (the
# bench's 8 and 12 more Wesnoth tracks), with 1.5 one. Below 120 it is firmer: the half-period
# term favours the slower of two levels (its half is the real beat), and with 1.5 there the
# synthetic 100/120/140 BPM songs were tracked at half tempo; 0.8 keeps them and the bench's
# tracks (3 of the 20 still move, all Wesnoth pieces whose tempo changes, by 4-7 %, not a level).
# 6 Dec: 0.65. A 2:1 pair at 80-90 / 160-180 BPM nearly ties on real loops, and every stretch
# (atempo, Rubber Band, a phase vocoder) thins the slower level's longer lags, so stretched copies
# went to the faster level where the original did not (freezingpoint 90 -> 180, track5 80 -> 160).
# Level of the original and its MP3, atempo, Rubber Band and phase-vocoder copies, 38 real tracks
# (152 copies more than 4 % off the original's tempo times the stretch): 0.8 12 flips, 0.75 9,
# 0.7 10, 0.65 6 (frantic's Rubber Band copy; heroes_rite, which has no beat, and
# siege_of_laurelmor, whose tempo changes), 0.6 9 (synthetic songs at 70 BPM read at 140). At 0.65
# freezingpoint and track5 are read at 180 and 160 in every copy, original included; synthetic pop
# songs at 150 BPM at 150 (75 at 0.8); at 160 and 175 BPM still at half tempo. Not a wide optimum:
# see bench/song_robustness.py for what it costs.
TEMPO_PRIOR_OCTAVES_SLOWER = 0.65
TEMPO_PRIOR_OCTAVES = 1.5
# Once the level is chosen its period is refined within +-2 % on up to 12 multiples (the lags up to
# half a tempogram window), read through a cubic spline. The level's own score, linear between
# whole-frame lags, peaks only where a multiple meets a whole frame (steps of 1/3 frame): a 1.05
# time-stretch then changed the period by 1.037-1.053 on four bench tracks instead of 1.05, and
# over a passage without clear onsets the tracker coasting at the wrong period drifted a third of
# a beat away from the reference (frantic: 63-70 s at DP_TIGHTNESS 400, 89-102 s at 1000).
# Refined: 1.0497-1.0502 on the same four.
REFINE_SPAN = 0.02
REFINE_MULTIPLES = 12
REFINE_STEP = 0.005                         # frames
# How strongly the DP tracker holds the global tempo: the penalty for an interval d times the
# period is DP_TIGHTNESS * log(d)^2. librosa's 100 let beats slide by a third of a beat in weak
# passages, differently in a time-stretched copy (stretch beat F 0.84 on a real track). With the
# 1/12-beat spread below, 400 gives shift/gain/MP3 F 1.00 on all 8 bench tracks. With the refined
# period (the path's end not yet moved) 500 gave stretch F 0.976/0.937 on frantic/knalgan_theme
# but MP3 F 0.968 on time_to_strike, 600-700 MP3 F 0.92-0.98 on frantic; with both, 450 gave
# 0.997/0.938 (MP3 and the other tracks not measured). Before the refinement 700 gave 0.87/0.98
# and MP3 0.92, and 250 lost stretch F on both.
DP_TIGHTNESS = 400.0
# The tracker's period follows the song's tempo (``tempo_path``): a Viterbi path, one state per 1 %
# step within +-20 % of the song's tempo, through the tempograms of 6 s windows read every 64 frames
# (1 s), each read at one, two and three periods. A change between neighbouring blocks costs
# TEMPO_CHANGE_COST times its squared log ratio (a 1 % step 0.05, an 8 % jump 3.0, where a block's
# best score is about 1), and every block is pulled toward the song's tempo by TEMPO_PULL times the
# squared log ratio. Measured on real tracks replayed along a known speed curve (the bench's
# ``warped``: +-8 % steps and a +-6 % sine) and on the copies above: see the docstring.
TEMPO_PATH_BLOCK = 64
TEMPO_PATH_WIN = 384
TEMPO_PATH_SPAN = 1.2
TEMPO_PATH_STEP = 0.01
TEMPO_CHANGE_COST = 500.0
TEMPO_PULL = 20.0
# And by TEMPO_PULL_LINEAR times the absolute log ratio, which the squared pull above hardly does for
# a 1-2 % step (0.002-0.008): a 6 s tempogram cannot resolve such a step, and the path hopped to it
# on noise in one copy of a track and not in another. Measured on the bench (beat F, before -> after):
# held-out MP3 min 0.908 -> 0.948 / mean 0.962 -> 0.971 (casualties_of_war 0.908 -> 0.948,
# siege_of_laurelmor 0.917 -> 0.952), stretch knalgan_theme 0.929 -> 0.948 and pirate 0.945 -> 0.960;
# but held-out stretch mean 0.783 -> 0.771 (the_city_falls 0.859 -> 0.759), held-out gain min
# 0.998 -> 0.992, warped steps min 0.959 -> 0.954; tuned and drum shift, gain and MP3 stay 1.00.
# 0.5: held-out MP3 min 0.929, pirate 0.945; 1.5: frantic stretch 0.853, pirate 0.784; 3: frantic MP3 0.857.
TEMPO_PULL_LINEAR = 0.25
# The level is chosen again on the path's clock where the path moves by more than 2 % (``song_tempo``),
# and another level (more than 10 % away) replaces the first where it scores 5 % more. On the bench:
# time_to_strike replayed along a +-6 % sine was read at 229 BPM (double), beat F 0.667; now 115 BPM,
# 1.00. Every other copy of the 28 bench tracks keeps its beats; the closest call was frantic's
# stretched copy, where 3:2 scored 0.4 % more on the path's clock (and 0.3 % less on the mean).
LEVEL_RECHECK_SPAN = 0.02
LEVEL_SAME = 0.1
LEVEL_SWITCH_MARGIN = 1.05
# A piece with long sections at two tempi of one level (within LEVEL_SAME) has two peaks that nearly
# tie on the whole-song tempogram, and the path, pulled toward the chosen one, stays at it wherever a
# 6 s tempogram cannot tell the two apart. Where another peak of that level is at least
# ANCHOR_ALT_SHARE as high (``level_height``), the tempo whose path gathers more tempogram evidence is
# taken (``anchored_period``). On the bench: siege_of_laurelmor read 110.2 BPM in the original and
# 115.9 in its stretched copy, now 110.2 in both (stretch beat F 0.588 -> 0.814, downbeat F 0.412 ->
# 0.714); warped loyalists (sine) 0.926 -> 0.999; every other copy's beats unchanged. At 0.90 and 0.85
# frantic's stretched copy and City's steps took another peak (stretch F 0.935 -> 0.802, steps 0.974
# -> 0.887). A synthetic song at 110 BPM with 50-98 s at 116 BPM in its middle reads one tempo in the
# original and a 1.05 stretch at every length; the argmax alone read the two differently at 72-78 s.
ANCHOR_ALT_SHARE = 0.95
# Width of the Gaussian that spreads each onset over its neighbours in the tracker's local score,
# as a fraction of the beat period. librosa's 1/32 (one frame at 120 BPM) made the score a comb
# of one-frame spikes: a sub-frame shift of the decoding or an MP3 copy decided between two
# phases of a weak passage (shift/MP3 beat F 0.91/0.83 on a real track); 1/12 (40 ms at 120
# BPM) gave 1.00 there, 1/8 and 1/16 did not. With the refined period, on the bench's 8 tracks and
# its 8 held-out ones (MP3 min / stretch min, tuned; held out): 1/10 0.904/0.868, 0.854/0.292;
# 1/12 1.00/0.936, 0.948/0.292; 1/15 0.974/0.782, 0.894/0.292.
DP_KERNEL_FRACTION = 12.0
# The path ends at the last frame whose local score reaches this fraction of the song's highest;
# after it the beats go on at the period. A fading final chord or a free ending has no pulse, and
# tracking its flux put a copy's last beats elsewhere (knalgan: MP3 F 0.993, its last 4 s).
DP_END_ONSET_FRACTION = 0.2
LEVEL_WINDOW_S = 8.0                        # onset strength is read relative to the last/next 4 s
# A song is at a steady tempo when at least this share of the tracked beats lies within
# STEADY_TOLERANCE of a beat period of one straight grid (least squares over those beats); its beats
# are then that grid. Measured on the bench's 16 real tracks (share in the original / MP3 /
# stretched copies): steady tracks 0.92-1.00 (asc's three, battle, northerners, loyalists), the
# others 0.87 and below (vengeful 0.82-0.87, mainzik 0.82, the rest 0.31-0.69); 0.85 let vengeful
# cross between copies (stretch F 0.89 -> 0.24). On the drum-kit pieces held out after the choice:
# five at 0.96-1.00 in every copy; pirate crosses (0.78 in the original, 0.90 stretched: its
# original's path slid off the grid for a few bars twice, so stretch F 0.78).
STEADY_SHARE = 0.9
STEADY_TOLERANCE = 0.12                     # of a beat period: 60 ms at 120 BPM
STEADY_PERIOD_SPAN = 0.004                  # the grid's period is searched within +-0.4 % of the song's
STEADY_FIT_ROUNDS = 4
# The grid fitted to the tracked beats inherits their period, which the tracker held at the period
# the tempogram gave: on wesnoth vengeful's phase-vocoder copy (librosa, rate 1.05) that was 0.057 %
# fast, and the grid drifted 0.37 of a beat over 340 s (beat F 0.47, the beats right for 150 s and
# then off). The grid is then fitted to the onsets themselves (``refine_grid``): its period within
# +-GRID_REFINE_SPAN and its phase within +-GRID_REFINE_PHASE of a beat, where the tracker's score
# read at the grid's points sums highest. Over a few hundred beats that sum peaks sharply at the
# music's own period. The phase is read at the grid's middle beat, where a tracker that drifted
# from its second half on (as vengeful's did, 0.35 of a beat by the end) leaves the fitted grid up
# to a fifth of a beat off; a quarter beat still stops short of the off-beat. On the bench's 38
# tracks and 10 copies each: vengeful's copy 0.47 -> 1.00, no other beat F moved by more than 0.05
# (breaking_the_chains' phase-vocoder copy 0.546 -> 0.59; with +-0.08 of a beat, 0.566);
# downbeat F moved on two copies, whose bar votes are near ties: northerners' faster atempo copy
# 1.00 -> 0.00, xmoto ridealong's phase-vocoder copy 0.00 -> 1.00. The half-beat grid
# (``half_beat_grid``) is not refined: refined, etr calmrace's bar vote moved in three copies.
GRID_REFINE_SPAN = 0.0015
GRID_REFINE_STEP = 0.00005
GRID_REFINE_PHASE = 0.25
GRID_REFINE_PHASE_STEP = 0.01
# No beat in the last eighth of a beat of the music: a song that ends on its beat (a game loop, a
# sequencer's export) has its next grid point within a few samples of the end, on either side by
# the copy (one frame more in an MP3 copy of xmoto foxrun gave it a beat at the very end).
END_MARGIN = STEADY_TOLERANCE
# A steady song whose tracked beats sat on the off-beat for a whole passage (the stretched copy's
# attacks smeared so that on- and off-beat eighths weigh the same there) is off one grid for more
# than a tenth of its beats, yet on a grid of half beats (``half_beat_grid``). Measured on the
# bench's tracks and copies (share on the half-beat grid): 0.96-1.00 on the steady songs and on
# their copies that slid (machine_wars' phase-vocoder copy 0.97, 0.40 of a beat off for 80 s;
# loyalists' Rubber Band and phase-vocoder copies 0.98-0.99, the first 60 s on the off-beat); the
# rubato or tempo-changing pieces 0.56-0.95 (knalgan_theme 0.87-0.95 over its copies). Which half is
# the beat: the one where the tracker's score sums higher, by HALF_BEAT_MARGIN; the steady songs'
# two halves differ by 1.06-2.9 in every copy (EarthRise, whose tracked beats sit half on each,
# 1.06-1.12, the same half in all five copies).
# A steady song with a passage whose onsets hold no beat (an intro pad, a breakdown, a soft bridge)
# has tracked beats that wander there, each copy its own way (hedgewars pirate: 0-31 s and 224-257 s,
# onset mass spread evenly over the beat's twelfths, 8-9 % in each), and fell short of STEADY_SHARE
# (0.78). An off-grid beat counts against the grid only where its onsets support it: where the
# tracked beats within UNSUPPORTED_BEATS of it gather at most UNSUPPORTED_RATIO times the tracker's
# score that their grid points gather, the onsets there do not tell the two apart. The grid must
# also gather GRID_SCORE_SHARE of the tracked beats' score over the whole song. Measured on the
# bench's 24 tracks and 5 copies each (share of beats on the grid or unsupported / grid's score over
# the tracked beats'): steady songs 0.96-1.00 / 0.93-0.99 (the copies on the off-beat aside); pirate 0.94 / 0.96-0.97; vengeful
# 0.96-0.98 / 0.93-0.95; mainzik 0.92-0.96 / 0.95-0.96; the rubato and tempo-changing pieces 0.60-0.90
# / 0.66-0.92, except breaking_the_chains' phase-vocoder copy (0.94 / 0.94, its original 0.75 / 0.87).
# Ratio 1.15: mainzik's original and its Rubber Band copy split (beat F 0.80); 1.3:
# knalgan_theme's original passes and its Rubber Band copy does not (0.93 -> 0.71); +-2 beats:
# mainzik's copies split; without the score share, knalgan_theme's phase-vocoder copy passes (0.90 /
# 0.91) and its original does not (0.90 -> 0.70).
UNSUPPORTED_RATIO = 1.2
UNSUPPORTED_BEATS = 4
GRID_SCORE_SHARE = 0.92
# The share of beats on the grid or unsupported that lets the score decide. It was STEADY_SHARE
# (0.9); frozen-bubble mainzik's faster atempo copy (1.05) held a quarter beat off for 20 s at a
# time where its sixteenths are as loud as its beats, and reached 0.886 (grid score 0.947; its other
# copies 0.918-0.964 / 0.954-0.966), so it kept its tracked beats (beat F 0.70). On the 38 bench
# tracks' 11 versions, 0.88, 0.87 and 0.85 change that copy alone (beat and downbeat F 1.00): the
# rubato pieces that reach them fall short of GRID_SCORE_SHARE (knalgan_theme 0.855-0.885 / 0.89,
# heroes_rite 0.87 / 0.90, start1's faster copy 0.869 / 0.848).
UNSUPPORTED_SHARE = 0.87
HALF_BEAT_SHARE = 0.96
HALF_BEAT_MARGIN = 1.05
# A song sequenced at an exact tempo whose tracker held a sixteenth's offset (a quarter beat early or
# late) for whole passages, where hi-hats or a bass line are heard as much as the beat, is on neither
# grid, yet on a grid of quarter beats; the beat is then the quarter on which the onsets (or else the
# kick) sum highest, as for halves. Measured on the 85 bench tracks (original, 1.05 stretch, MP3 and
# -6 dB copies; share of tracked beats within 0.06 of a beat of one quarter-beat grid, and of the beats
# off the beat grid, the share on it): the four songs that pass in every copy are electronic pieces
# whose phases the onsets or the kick decide (etr start1 0.92-0.98 / 0.72-0.97, nexuiz brainsukker
# 0.895-0.90 / 0.89-0.92, thru-the-mirror 0.97 / 0.96-0.97, breakdown-easy 0.98 / 0.96-0.97); the
# orchestral and rubato pieces not already steady 0.59-0.86 (casualties_of_war 0.81-0.85,
# knalgan_theme 0.81-0.82, frantic 0.65-0.70). Stretch beat F: thru-the-mirror 0.871 -> 1.00,
# brainsukker 0.928 -> 1.00, breakdown-easy 0.998 -> 1.00; copies at >= 0.95 70 -> 72 of 85; no beat
# F of any gain, MP3 or stretched copy lower; the warped tracks unchanged. Where the onsets leave
# several quarters in the running and the kick leads none of the four by KICK_HALF_MARGIN, it
# decides between the quarters the onsets left: warzone legacy_track16 (0.91-0.95 on the grid in
# every copy) has onsets 1.01 : 1 between two quarters and its kick 2.0 : 1 between those, 1.40 : 1
# over the off-beat the onsets rank 1.2 times lower: stretch 0.377 -> 1.00, MP3 0.912 -> 1.00 (73 of
# 85 stretched copies at >= 0.95). thru-the-mirror's kick leads all four 6 : 1 on a quarter the
# onsets rank third, and that stands. Any share
# from 0.85 to 0.88 gives the same. The second share keeps a steady song with one passage where the
# tempo moved off the grid (a beat within 0.06 of some quarter by chance about half the time) from
# being read as a slide: 0.60 for a 70-beat swing of 0.3 of a beat; start1's stretched copy 0.72.
QUARTER_BEAT_SHARE = 0.87
QUARTER_OFF_GRID_SHARE = 0.66
# Where the two halves are heard alike (within HALF_BEAT_MARGIN: eighths as loud as the beats), the
# kick drum decides, as it does for the bar (``_bar_cues``): the half on which the low-band flux sums
# KICK_HALF_MARGIN times higher is the beat. On the bench's 38 tracks and 7 copies each, the one song
# that reaches this is etr calmrace (87.5 BPM): its original, MP3, gain, shift and phase-vocoder
# copies slid onto the off-beat at 28-34 s and stayed there (halves 0.97-0.98 of each other), while
# its atempo and Rubber Band copies held one grid, on the half with 2.0 times the kick. Kick on the
# two halves 2.2-2.4 : 1 in every copy that slid; beat F under atempo and Rubber Band 0.256 -> 0.997,
# phase vocoder 0.963 -> 1.00; every other copy's beats unchanged. The copies whose halves the onsets
# do decide (EarthRise 1.06-1.12, machine_wars and loyalists 1.17-1.25, xmoto speeditup's atempo copy
# 1.27) keep that choice even where the kick leans the other way (EarthRise 0.69-0.89, speeditup
# 0.06): there the onsets, not the low band, say where every other copy's grid is.
KICK_HALF_MARGIN = 1.5
# A bar vote won by less than this (winner over runner-up, less one) is reported as "unclear_bar".
# On the bench's 16 real tracks, the votes that flipped between a track and its MP3 or stretched
# copy were all won by 0.001-0.038 in one of the two (the_city_falls 0.005-0.009, legends_of_the_north
# 0.008-0.021, heroes_rite 0.016-0.038, northerners before its grid 0.001-0.033); clear tracks by 0.08-0.70.
# Since the bars of tracked beats follow a path (``bar_positions``), their margin is the vote on the
# beats as the path aligned them, which it chose for their cues: it reads higher (the_city_falls
# 0.09 -> 0.17, legends_of_the_north 0.02 -> 0.08), and no copy of the bench's tracks is under 0.03.
# On an exact grid the phases within this margin of the winner tie, and the earliest of them starts
# the bar (``_downbeat_phase``). Measured on the bench (6 Dec, 38 tracks, 11 copies each): downbeat
# F 0 -> 1 on etr freezingpoint's MP3, AAC, Opus and phase-vocoder copies (180 BPM, beats 1 and 3
# of its bars within 0.2-2.4 % in every copy), calmrace's Rubber Band and both phase-vocoder copies
# and ridealong's faster phase-vocoder copy; 1 -> 0 on Freeway's Opus copy and calmrace's atempo
# copy, whose votes cross the margin (0.034 / 0.010 and 0.009 / 0.038, original / copy), and
# EarthRise's atempo copy, whose grid has one beat more at its start (a point 0.12 beat before
# the music), so "earliest" names another beat there. Beat F is unchanged on every copy. Other tie
# margins, on the steady tracks' gain, MP3, AAC, Opus, atempo, Rubber Band and phase-vocoder copies
# (copies whose downbeat F falls under 0.9, four of them from beats or tempo, not the vote): argmax
# 16, 0.03 12, 0.04 12, 0.05 13, 0.06 10, 0.08 9, 0.10 9; each wider margin moves the edge onto
# other tracks (frontiers, Brick, Jungle) and lets the grid's start overrule cues that do lead, so
# the tie stays where the vote is already reported unclear. The tie follows where the grid starts,
# so an excerpt (the song's start cut off) may start its bars on another tied beat (bench crop10
# and crop30: freezingpoint, ridealong, calmrace); argmax, chord change over 4- or 8-beat windows
# and the tied phase holding the highest single cue lost as many copies and excerpts or more.
BAR_VOTE_MARGIN = 0.03
# The beat's level is reported as a close call ("unclear_tempo") where another level, twice, half,
# three halves or two thirds the tempo (within LEVEL_ALT_SPAN), scores at least LEVEL_CLOSE times the
# chosen one (``level_margin``), so the person who knows the song is asked to say which it is
# (musicvideo.audio.correction). Measured on the originals of the bench's 38 real tracks: five reach
# 0.95 (neverball track5 0.993, freezingpoint 0.988, frantic 0.970, Freeway 0.964, heroes_rite 0.961),
# and they are the four whose level flips in a stretched copy (track5 and freezingpoint 2:1, frantic
# 3:2, Freeway 2:3) and the one with no beat; the next are 0.935 (MadeiraStew) and 0.910 (vengeful),
# whose level holds in every copy. start1's 4:3 flip is not among these ratios (0.895 at 3:2).
LEVEL_CLOSE = 0.95
LEVEL_ALT_SPAN = 0.03
LEVEL_ALTERNATIVES = (2.0, 0.5, 1.5, 2.0 / 3.0)          # tempo ratios to the chosen level
# What re-aligning the bars costs in ``bar_positions``, in units of one bar start's cue over the
# song's mean (a clear bar line scores about 1): the cues must favour the new alignment for roughly
# eight bars. Measured on the bench (downbeat F, min over each set's tracks unless said, before ->
# after; tracks on an exact grid keep the one vote): tuned stretch 0.377 -> 0.934 (knalgan_theme,
# whose tracker adds a beat near 275 s in the original and near 100 s in the stretched copy, and
# whose whole-song vote was split by it, margin 0.031); held-out Wesnoth MP3 mean 0.835 -> 0.900,
# stretch mean 0.379 -> 0.637 (vengeful 0.099 -> 0.797, legends_of_the_north 0.00 -> 0.838), but
# breaking_the_chains stretch 0.968 -> 0.534. Only one-beat steps: the same, held-out gain 0.991.
# At 6: frantic stretch 0.658; at 10: siege_of_laurelmor MP3 0.418, legends_of_the_north MP3 0.683;
# at 12 with steady tracks on the path too: northerners stretch 0.696, casualties_of_war gain 0.881.
BAR_SWITCH_COST = 8.0
DBN_TEMPO_SPAN = 0.15                       # the tracker may drift this far from the global tempo
DBN_TRANSITION_LAMBDA = 100.0               # madmom's default: tempo changes between beats are rare
DBN_OBSERVATION_LAMBDA = 16                 # the first 1/16 of a beat period is "on the beat"

Tracker = Literal["dp", "dbn"]


@dataclass(frozen=True)
class Rhythm:
    tempo_bpm: float
    beats_s: np.ndarray          # beat times in seconds, increasing
    downbeats_s: np.ndarray      # bar starts, a subset of beats_s
    beats_per_bar: int
    pulse_clarity: float         # onset strength on beats / overall; ~1 means no audible pulse
    warnings: list[str] = field(default_factory=list)
    steady: bool = False         # the beats are one straight grid (``steady_grid``)

    @property
    def beat_period_s(self) -> float:
        return 60.0 / self.tempo_bpm


def active_span(samples: np.ndarray, *, rel_db: float = SILENCE_REL_DB) -> tuple[int, int]:
    """First and one-past-last sample of the music; (0, 0) for silence.

    The music starts at the first sample louder than ``rel_db`` below the peak. Where the song
    opens on steady noise instead of digital silence (tape hiss, a vinyl rip's surface, room tone:
    ``noise_floor``), it starts at the first sample that rises ``NOISE_MARGIN_DB`` above that
    noise's own peak; the end likewise. A floor found at one end only is the other end's too, and
    an end still without one may open on a short one that the music rises out of (``short_floor``).
    Scanned in blocks: a whole-song ``abs`` and index array would be several copies of the audio.
    """
    n = samples.size
    if n == 0:
        return 0, 0
    peak = max(float(np.max(np.abs(samples[i:i + SCAN_BLOCK]))) for i in range(0, n, SCAN_BLOCK))
    if peak <= 0.0:
        return 0, 0
    threshold = peak * 10 ** (rel_db / 20)
    # Each end's frame levels once: the floor rules below all read them.
    head, end = _levels(samples), _levels(samples[::-1])
    lead, tail = _floor(samples, *head), _floor(samples[::-1], *end)
    # A recording has one floor: where it is found at one end only (0.25 s of hum before the music
    # is too short for either rule, 2 s after it is not), the other end is read against it.
    lead, tail = _same_floor(samples, lead, tail), _same_floor(samples[::-1], tail, lead)
    if not lead or not tail:
        # A short floor only at an end that no longer one reached, and then read at the other end too.
        lead, tail = lead or _short_edge(samples, *head), tail or _short_edge(samples[::-1], *end)
        lead, tail = _same_floor(samples, lead, tail), _same_floor(samples[::-1], tail, lead)
    margin = 10 ** (NOISE_MARGIN_DB / 20)
    head_threshold, tail_threshold = max(threshold, lead * margin), max(threshold, tail * margin)
    first = next((i + int(np.argmax(np.abs(samples[i:i + SCAN_BLOCK]) > head_threshold))
                  for i in range(0, n, SCAN_BLOCK) if np.any(np.abs(samples[i:i + SCAN_BLOCK]) > head_threshold)),
                 None)
    last_block = next((i for i in range(((n - 1) // SCAN_BLOCK) * SCAN_BLOCK, -1, -SCAN_BLOCK)
                       if np.any(np.abs(samples[i:i + SCAN_BLOCK]) > tail_threshold)), None)
    if first is None or last_block is None:
        return 0, 0
    loud = np.flatnonzero(np.abs(samples[last_block:last_block + SCAN_BLOCK]) > tail_threshold)
    stop = last_block + int(loud[-1]) + 1
    return (first, stop) if stop > first else (0, 0)


def _same_floor(samples: np.ndarray, found: float, other: float) -> float:
    """``found``; or, where no floor was found at the start of ``samples`` and one was at the other
    end, that one, if the first ``NOISE_MIN_S`` hold sound that stays within ``NOISE_MARGIN_DB`` of it."""
    if found > 0.0 or other <= 0.0:
        return found
    opening = samples[:round(NOISE_MIN_S * ANALYSIS_SR)]
    peak = float(np.max(np.abs(opening))) if opening.size else 0.0
    return other if 0.0 < peak <= other * 10 ** (NOISE_MARGIN_DB / 20) else found


def _frame_rms(samples: np.ndarray) -> np.ndarray:
    """RMS of consecutive NOISE_FRAME-sample frames (the last one partial), in float64."""
    n_frames = -(-samples.size // NOISE_FRAME)
    rms = np.empty(n_frames)
    step = SCAN_BLOCK - SCAN_BLOCK % NOISE_FRAME
    for i in range(0, samples.size, step):
        block = samples[i:i + step].astype(np.float64)
        full = block.size - block.size % NOISE_FRAME
        k = i // NOISE_FRAME
        rms[k:k + full // NOISE_FRAME] = np.sqrt(np.mean(block[:full].reshape(-1, NOISE_FRAME) ** 2, axis=1))
        if full < block.size:
            rms[k + full // NOISE_FRAME] = float(np.sqrt(np.mean(block[full:] ** 2)))
    return rms


def noise_floor(samples: np.ndarray) -> float:
    """The sample peak of the steady noise the song opens on, or 0 where it opens on digital
    silence, on the music itself, or on a fade.

    The opening is every frame before the first one within ``NOISE_REL_DB`` of the song's loud
    level (its 95th-percentile frame RMS), less that frame's neighbour, which may hold the music's
    first attack. It is noise when its non-silent frames last at least ``NOISE_MIN_S``, half of
    them lie within ``NOISE_SPREAD_DB`` of their median level and its two halves' medians within
    ``NOISE_TREND_DB`` (hiss is steady, while a fade or a reverb tail moves through tens of dB), and
    the music then rises ``NOISE_RISE_DB`` above it within ``NOISE_RISE_S``. Frames louder than that
    band (the start of a fade over the hiss) are not counted in the peak. Where that opening is not
    noise, or there is none (a floor within ``NOISE_REL_DB`` of the loud level), a long flat floor
    at the very start is (``_steady_edge``). Read ``samples`` reversed for the end of the song.
    """
    return _floor(samples, *_levels(samples))


def short_floor(samples: np.ndarray) -> float:
    """The sample peak of a short flat floor that the song opens on and rises out of (``_short_edge``),
    or 0. ``active_span`` reads it only at an end that no longer floor reached (``noise_floor`` at
    either end, ``_same_floor``): a longer floor's peak is surer."""
    return _short_edge(samples, *_levels(samples))


def _levels(samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Frame RMS from the start of ``samples`` and the song's loud level (their 95th percentile)."""
    rms = _frame_rms(samples)
    return rms, float(np.percentile(rms, 95)) if rms.size else 0.0


def _floor(samples: np.ndarray, rms: np.ndarray, loud: float) -> float:
    """``noise_floor`` on levels already read."""
    if rms.size == 0:
        return 0.0
    return _opening_floor(samples, rms, loud) or _steady_edge(samples, rms, loud)


def _opening_floor(samples: np.ndarray, rms: np.ndarray, loud: float) -> float:
    """The sample peak of steady noise before the music's first loud frame (``noise_floor``'s
    opening rule), or 0 where that opening is too short, moves, or is not followed by a rise."""
    quiet = loud * 10 ** (NOISE_REL_DB / 20)
    above = np.flatnonzero(rms >= quiet)
    opening = rms[:max(int(above[0]) - 1, 0)] if above.size else rms[:0]
    sounding = np.flatnonzero(opening > 0.0)
    if sounding.size * NOISE_FRAME < NOISE_MIN_S * ANALYSIS_SR:
        return 0.0
    levels = 20 * np.log10(opening[sounding])
    level_db = float(np.median(levels))
    half = levels.size // 2
    # A reverb tail or a fade moves steadily (frantic ends on 1.1 s falling from -50 to -63 dB):
    # its two halves' medians lie apart, where a hiss's agree.
    if abs(float(np.median(levels[:half])) - float(np.median(levels[half:]))) > NOISE_TREND_DB:
        return 0.0
    if np.count_nonzero(np.abs(levels - level_db) <= NOISE_SPREAD_DB) * 2 < levels.size:
        return 0.0
    # Music rises out of a noise floor; a decay or a slow fade flattens out at its own end
    # (northerners' last 0.4 s lie within 2 dB, 15 dB below the same reverb 2 s earlier).
    rise = rms[above[0]:above[0] + int(round(NOISE_RISE_S * ANALYSIS_SR / NOISE_FRAME))]
    if 20 * np.log10(float(np.max(rise))) - level_db < NOISE_RISE_DB:
        return 0.0
    level = 10 ** (level_db / 20)
    return _frames_peak(samples, sounding[opening[sounding] <= level * 10 ** (NOISE_SPREAD_DB / 20)])


def _steady_edge(samples: np.ndarray, rms: np.ndarray, loud: float) -> float:
    """The sample peak of a long, flat, quiet floor at the start of ``samples`` (``NOISE_LONG_S``),
    taken over the frames from the start that stay within ``NOISE_SPREAD_DB`` of its level; else 0."""
    n_long = round(NOISE_LONG_S * ANALYSIS_SR / NOISE_FRAME)
    flat = _flat_start(rms, loud, n_long)
    if flat is None:
        return 0.0
    level_db, run = flat
    levels = 20 * np.log10(rms[:n_long])
    half = n_long // 2
    if (float(np.max(np.abs(levels - level_db))) > NOISE_SPREAD_DB
            or abs(float(np.median(levels[:half])) - float(np.median(levels[half:]))) > NOISE_TREND_DB):
        return 0.0
    return _frames_peak(samples, np.arange(run))


def _short_edge(samples: np.ndarray, rms: np.ndarray, loud: float) -> float:
    """The sample peak of a flat, quiet floor of at least ``NOISE_SHORT_S`` at the start of ``samples``
    that the music rises ``NOISE_RISE_DB`` out of within ``NOISE_RISE_S``; else 0."""
    n_short = round(NOISE_SHORT_S * ANALYSIS_SR / NOISE_FRAME)
    flat = _flat_start(rms, loud, n_short)
    if flat is None:
        return 0.0
    level_db, run = flat
    levels = 20 * np.log10(rms[:run])
    if run < n_short or abs(float(np.median(levels[:run // 2])) - float(np.median(levels[run // 2:]))) > NOISE_TREND_DB:
        return 0.0
    rise = rms[run:run + round(NOISE_RISE_S * ANALYSIS_SR / NOISE_FRAME)]
    if rise.size == 0 or 20 * np.log10(float(np.max(rise))) - level_db < NOISE_RISE_DB:
        return 0.0
    # The run's last frame may hold the music's first samples, under the 6 dB the run allows.
    return _frames_peak(samples, np.arange(max(run - 1, 1)))


def _flat_start(rms: np.ndarray, loud: float, n: int) -> tuple[float, int] | None:
    """The median level (dB) of the first ``n`` frames, where they all sound and lie at least
    ``NOISE_QUIET_DB`` under ``loud``, and how many frames from the start stay within
    ``NOISE_SPREAD_DB`` of it; ``None`` otherwise."""
    head = rms[:n]
    if head.size < n or rms.size <= n or not np.all(head > 0.0):
        return None
    level_db = float(np.median(20 * np.log10(head)))
    if level_db > 20 * np.log10(loud) - NOISE_QUIET_DB:
        return None
    off = np.abs(20 * np.log10(np.maximum(rms, 1e-12)) - level_db) > NOISE_SPREAD_DB
    return level_db, int(np.argmax(off)) if off.any() else rms.size


def _frames_peak(samples: np.ndarray, frames: np.ndarray) -> float:
    return max(float(np.max(np.abs(samples[k * NOISE_FRAME:(k + 1) * NOISE_FRAME]))) for k in frames)


def analyze_rhythm(features: Features, *, duration_s: float, beats_per_bar: int = 4,
                   start_bpm: float = FALLBACK_BPM, tracker: Tracker = "dp") -> Rhythm:
    """Track beats over the song; always returns a grid that spans it (see ``warnings``).

    ``features`` may cover only the sounding part of the song (``features.offset_s`` says where it
    starts); every time returned is on the song's clock.
    """
    env = onset_envelope(features)
    warnings: list[str] = []
    beat_frames: np.ndarray = np.empty(0, dtype=int)
    bpm = start_bpm
    steady = False
    periodicity = 0.0
    level_close = False
    if env.size > 8 and float(env.max()) > 1e-3:
        period, periods, lags_ac = _song_tempo(env, features.frame_rate)
        periodicity = pulse_periodicity(lags_ac, period)
        level_close = level_margin(lags_ac, features.frame_rate, period) >= LEVEL_CLOSE
        bpm = 60.0 * features.frame_rate / period
        if tracker == "dbn":
            beat_frames = track_beats_dbn(env, features.frame_rate, bpm=bpm)
        else:
            score = beat_score(env, features.frame_rate, period)
            beat_frames = track_beats_dp(env, features.frame_rate, period=period, periods=periods, score=score)
            grid = steady_grid(beat_frames, period, n_frames=env.size, score=score, kick=features.low_onset)
            if grid is not None:
                beat_frames, steady = grid, True
    clarity = _pulse_clarity(env, np.round(beat_frames).astype(int))
    end_s = min(duration_s, features.offset_s + features.n_frames / features.frame_rate)
    if len(beat_frames) < 4 or (clarity < MIN_PULSE_CLARITY and periodicity < MIN_PERIODICITY):
        # No pulse to follow (silence, noise, speech, a click): cut on an even grid instead of
        # on random flux peaks, and say so.
        warnings.append("no_clear_beat")
        period = 60.0 / start_bpm
        beats_s = np.arange(features.offset_s, max(end_s - END_MARGIN * period, features.offset_s), period)
        if beats_s.size == 0:
            beats_s = np.array([features.offset_s])
        tempo = start_bpm
    else:
        beats_s = features.offset_s + beat_frames / features.frame_rate
        beats_s = beats_s[beats_s < end_s - END_MARGIN * 60.0 / bpm]
        tempo = 60.0 / beat_period(beats_s)
    local_frames = features.time_to_frame(beats_s)
    fallback = bool(warnings)
    place = np.arange(len(beats_s)) % beats_per_bar
    margin = 1.0
    # An even fallback grid has no bars to find: it starts a bar where the music starts. An exact
    # grid has no slipped beats to re-align around: one vote over the song decides its bars.
    if len(beats_s) >= 3 * beats_per_bar and not fallback:
        if steady:
            phase, margin = _downbeat_phase(features, local_frames, beats_per_bar)
            place = (place - phase) % beats_per_bar
        else:
            place, margin = bar_positions(features, local_frames, beats_per_bar)
    if margin < BAR_VOTE_MARGIN:
        warnings.append("unclear_bar")
    if level_close and not fallback:
        warnings.append("unclear_tempo")
    downbeats = beats_s[place == 0]
    return Rhythm(tempo_bpm=round(tempo, 2), beats_s=np.round(beats_s, 3), downbeats_s=np.round(downbeats, 3),
                  beats_per_bar=beats_per_bar, pulse_clarity=round(clarity, 3), warnings=warnings,
                  steady=steady and not fallback)


def tempogram_blocks(env: np.ndarray, *, win: int, block: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """librosa's autocorrelation tempogram of ``env``, ``block`` frames at a time: (start, stop, gram).

    The whole-song tempogram holds ``win`` float64 lags per frame (2.6 GB on a 15-minute song).
    Here the onset curve is padded once at the song's ends as librosa pads it, and each block's
    windows are taken from that curve with no padding of their own. An earlier version padded
    every block separately, which added edge windows that are not in the song every 16 s and moved
    the tempo of a real track to its 3:2 neighbour when half a second of silence shifted the blocks.
    """
    padded = np.pad(np.asarray(env, dtype=np.float64), win // 2, mode="linear_ramp", end_values=(0, 0))
    load_librosa_kernels()
    n = len(env)
    for start in range(0, n, block):
        stop = min(start + block, n)
        # Window k of the padded curve is centred on frame k of the song.
        part = padded[start:stop + win - 1]
        gram = librosa.feature.tempogram(onset_envelope=part, win_length=win, center=False)
        yield start, stop, gram[:, : stop - start]


def mean_tempogram(env: np.ndarray, *, win: int = TEMPOGRAM_WIN) -> np.ndarray:
    """librosa's autocorrelation tempogram of ``env`` averaged over frames (``tempogram_blocks``)."""
    return _frame_mean(tempogram_sums(env, win=win), win, len(env))


def _frame_mean(sums: list[tuple[int, int, np.ndarray]], win: int, n_frames: int) -> np.ndarray:
    return sum((part for _, _, part in sums), np.zeros(win)) / max(n_frames, 1)


def tempogram_sums(env: np.ndarray, *, win: int) -> list[tuple[int, int, np.ndarray]]:
    """Each ``TEMPOGRAM_BLOCK`` of the tempogram summed over its frames: (start, stop, lags)."""
    return [(start, stop, gram.sum(axis=1))
            for start, stop, gram in tempogram_blocks(env, win=win, block=TEMPOGRAM_BLOCK)]


def window_corrected(gram: np.ndarray, win: int) -> np.ndarray:
    """Tempogram lags divided by the Hann window's own autocorrelation.

    The tempogram windows the curve before the autocorrelation, which weighs long lags less;
    dividing by the window's autocorrelation lets three beats count as much as one.
    """
    load_librosa_kernels()
    shape = librosa.autocorrelate(librosa.filters.get_window("hann", win))
    return gram / np.maximum(shape / shape[0], 1e-3)


def estimate_period(env: np.ndarray, frame_rate: float) -> float:
    """The song's beat period in frames (fractional): one tempo for the whole piece (``song_tempo``)."""
    return song_tempo(env, frame_rate)[0]


def song_tempo(env: np.ndarray, frame_rate: float) -> tuple[float, np.ndarray]:
    """The song's beat period in frames (fractional), and the period at every frame (``tempo_path``).

    Each candidate period is scored by the mean tempogram at one, two and three periods and at
    half a period, times a log-normal prior around 120 BPM (wide above it, firmer below)
    (``level_scores``). Reading the multiples ties the choice to a level of the metre and resolves
    the period to a fraction of a frame (a single lag is a whole frame, 3 % at 160 BPM), so a
    time-stretched copy gets the same level and a tempo that scales with it.

    Where the tempo moves, the mean tempogram smears the long lags (three beats drift by three
    times the tempo change) and favours a faster level. So where the path moves by more than
    ``LEVEL_RECHECK_SPAN``, each 4 s block's tempogram is read on the path's clock (its lags
    scaled by the block's tempo ratio) and the level is chosen again on that mean; another level
    replaces the first only where it scores ``LEVEL_SWITCH_MARGIN`` times as much.
    """
    period, path, _ = _song_tempo(env, frame_rate)
    return period, path


def _song_tempo(env: np.ndarray, frame_rate: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``song_tempo`` and the whole song's window-corrected mean tempogram it read."""
    win = TEMPOGRAM_WIN
    sums = tempogram_sums(env, win=win)
    lags_ac = window_corrected(_frame_mean(sums, win, len(env)), win)
    period, path = anchored_period(env, lags_ac, frame_rate)
    log_ratio = np.log(path / period)
    if float(np.ptp(log_ratio)) < LEVEL_RECHECK_SPAN:
        return period, path, lags_ac
    lags = np.arange(win, dtype=np.float64)
    on_path = sum((np.interp(lags * float(np.exp(log_ratio[start:stop].mean())), lags, part)
                   for start, stop, part in sums), np.zeros(win)) / len(env)
    path_ac = window_corrected(on_path, win)
    periods, score = level_scores(path_ac, frame_rate)
    other = float(periods[int(np.argmax(score))])
    same_level = abs(np.log(other / period)) < LEVEL_SAME
    if same_level or float(score.max()) < LEVEL_SWITCH_MARGIN * float(np.interp(period, periods, score)):
        return period, path, lags_ac
    period = refine_period(path_ac, other)
    return period, tempo_path(env, period), lags_ac


def pulse_periodicity(lags_ac: np.ndarray, period: float) -> float:
    """How far the tempogram at one to three beat periods stands above its typical lag, over lag 0's.

    Near 0 for noise (-0.02 to 0.013 on white and brown noise, 10-60 s), 0.02-0.6 on music. Unlike
    the onset strength on the beats (``_pulse_clarity``), it reads the onset curve's repetition,
    not the sharpness of its peaks, so it holds where a time-stretch smears the attacks.
    """
    lags = np.arange(len(lags_ac), dtype=np.float64)
    on = float(np.interp(period * np.arange(1, TEMPO_MULTIPLES + 1), lags, lags_ac).mean())
    typical = float(np.median(lags_ac[int(0.3 * period):int(3.5 * period) + 1]))
    return (on - typical) / max(float(lags_ac[0]) - typical, 1e-9)


def anchored_period(env: np.ndarray, lags_ac: np.ndarray, frame_rate: float) -> tuple[float, np.ndarray]:
    """The song's refined period at the best-scoring level, and its tempo path (``tempo_path``).

    Where another peak of the same level (within ``LEVEL_SAME``) is at least ``ANCHOR_ALT_SHARE``
    as high (``level_height``), both are refined and followed, and the one whose path gathers more
    tempogram evidence is taken: a song with sections at two such tempi has peaks that nearly tie,
    and which one wins must not depend on the stretch of the copy.
    """
    periods, score = level_scores(lags_ac, frame_rate)
    top = int(np.argmax(score))
    inner = np.arange(1, len(score) - 1)
    peaks = inner[(score[inner] > score[inner - 1]) & (score[inner] >= score[inner + 1]) & (inner != top)
                  & (np.abs(np.log(periods[inner] / periods[top])) < LEVEL_SAME)]
    spline = CubicSpline(np.arange(len(lags_ac), dtype=np.float64), lags_ac)
    first = refine_period(lags_ac, float(periods[top]))
    floor = ANCHOR_ALT_SHARE * level_height(spline, first)
    best, (best_path, best_evidence) = first, _tempo_path(env, first)
    for index in peaks.tolist():
        period = refine_period(lags_ac, float(periods[index]))
        if abs(np.log(period / first)) <= REFINE_SPAN / 2 or level_height(spline, period) < floor:
            continue
        path, evidence = _tempo_path(env, period)
        if evidence > best_evidence:
            best, best_path, best_evidence = period, path, evidence
    return best, best_path


def level_height(spline: CubicSpline, period: float) -> float:
    """The level's score (``level_scores`` without the prior) at its peak within ``REFINE_SPAN``.

    Read through a cubic spline of the tempogram: read linearly between whole-frame lags, a sharp
    peak loses height by where its multiples fall between frames, and on a song with sections at
    110 and 116 BPM the ratio of the two peaks moved by 4.5 % under a 1.05 stretch (0.2 % here).
    """
    candidates = np.arange(period * (1 - REFINE_SPAN), period * (1 + REFINE_SPAN), REFINE_STEP)
    return float(_level_evidence(spline, candidates).max())


def _level_evidence(read: Callable[[np.ndarray], np.ndarray], periods: np.ndarray) -> np.ndarray:
    """Each period's tempogram at one to ``TEMPO_MULTIPLES`` periods and at half a period.

    ``read`` gives the tempogram at fractional lags (linear between whole lags, or a spline).
    """
    multiples = read(periods[:, None] * np.arange(1, TEMPO_MULTIPLES + 1)).mean(axis=1)
    return np.asarray(multiples + TEMPO_HALF_WEIGHT * read(periods / 2))


def level_scores(lags_ac: np.ndarray, frame_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate beat periods (frames) from ``MAX_BPM`` to ``MIN_BPM`` and each one's score."""
    periods = np.arange(60.0 * frame_rate / MAX_BPM, 60.0 * frame_rate / MIN_BPM, PERIOD_STEP)
    lags = np.arange(len(lags_ac), dtype=np.float64)
    score = _level_evidence(lambda at: np.interp(at, lags, lags_ac), periods)
    octaves = np.log2(60.0 * frame_rate / periods / FALLBACK_BPM)
    width = np.where(octaves < 0, TEMPO_PRIOR_OCTAVES_SLOWER, TEMPO_PRIOR_OCTAVES)
    return periods, score * np.exp(-0.5 * (octaves / width) ** 2)


def level_margin(lags_ac: np.ndarray, frame_rate: float, period: float) -> float:
    """The best other level's score over the chosen period's (``LEVEL_ALTERNATIVES``, prior included)."""
    periods, score = level_scores(lags_ac, frame_rate)
    chosen = max(float(np.interp(period, periods, score)), 1e-12)
    best = 0.0
    for ratio in LEVEL_ALTERNATIVES:
        near = np.abs(np.log(periods * ratio / period)) < LEVEL_ALT_SPAN
        if near.any():
            best = max(best, float(score[near].max()))
    return best / chosen


def refine_period(autocorrelation: np.ndarray, period: float) -> float:
    """The period within ``REFINE_SPAN`` of ``period`` whose multiples best fit ``autocorrelation``.

    Up to ``REFINE_MULTIPLES`` multiples, as far as half the autocorrelation's length (where the
    windowed estimate is still well supported), read through a cubic spline: an error of the
    period adds up over the multiples, so it is resolved to a few hundredths of a frame.
    """
    spline = CubicSpline(np.arange(len(autocorrelation), dtype=np.float64), autocorrelation)
    count = max(1, min(REFINE_MULTIPLES, int(0.5 * len(autocorrelation) / period)))
    candidates = np.arange(period * (1 - REFINE_SPAN), period * (1 + REFINE_SPAN), REFINE_STEP)
    score = spline(candidates[:, None] * np.arange(1, count + 1)).mean(axis=1)
    return float(candidates[int(np.argmax(score))])


def estimate_tempo(env: np.ndarray, frame_rate: float) -> float:
    """The song's tempo in BPM (see ``estimate_period``)."""
    return 60.0 * frame_rate / estimate_period(env, frame_rate)


def tempo_path(env: np.ndarray, period: float) -> np.ndarray:
    """The beat period (frames) at every frame, following the song's tempo around ``period``.

    A Viterbi path through ``TEMPO_PATH_WIN`` tempograms read every ``TEMPO_PATH_BLOCK`` frames
    (see the constants). Where the tempo holds, the path is exactly ``period``: the candidates are
    steps of ``TEMPO_PATH_STEP`` around it, so a steady song is tracked at its refined period.
    """
    return _tempo_path(env, period)[0]


def _tempo_path(env: np.ndarray, period: float) -> tuple[np.ndarray, float]:
    """``tempo_path`` and the tempogram evidence along it: its blocks' scores, before any pull."""
    win = TEMPO_PATH_WIN
    reach = int(np.ceil(np.log(TEMPO_PATH_SPAN) / TEMPO_PATH_STEP))
    steps = np.arange(-reach, reach + 1) * TEMPO_PATH_STEP                  # log ratios to ``period``
    candidates = period * np.exp(steps)
    lags = np.arange(win, dtype=np.float64)
    centres, means = [], []
    for start, stop, gram in tempogram_blocks(env, win=win, block=TEMPO_PATH_BLOCK):
        means.append(gram.mean(axis=1))
        centres.append((start + stop - 1) / 2)
    if not means:
        return np.full(len(env), period), 0.0
    corrected = window_corrected(np.array(means), win)                     # (blocks, lags)
    reads = candidates[:, None] * np.arange(1, TEMPO_MULTIPLES + 1)
    raw = np.array([np.interp(reads, lags, block).mean(axis=1) for block in corrected])
    # Blocks are weighed by their own strength: a quiet, pulse-less passage must not steer the path.
    score = raw / max(float(raw.max(axis=1).mean()), 1e-12)
    score -= TEMPO_PULL * steps[None, :] ** 2 + TEMPO_PULL_LINEAR * np.abs(steps)[None, :]
    change = -TEMPO_CHANGE_COST * (steps[:, None] - steps[None, :]) ** 2     # (from, to)
    best = score[0].copy()
    back = np.zeros(score.shape, dtype=int)
    for b in range(1, len(score)):
        total = best[:, None] + change
        back[b] = np.argmax(total, axis=0)
        best = total[back[b], np.arange(len(steps))] + score[b]
    state = int(np.argmax(best))
    path = [state]
    for b in range(len(score) - 1, 0, -1):
        state = int(back[b, state])
        path.append(state)
    states = np.array(path[::-1])
    evidence = float(raw[np.arange(len(raw)), states].sum())
    return np.interp(np.arange(len(env)), np.array(centres), candidates[states]), evidence


def relative_onsets(env: np.ndarray, frame_rate: float) -> np.ndarray:
    """Onset curve over the 90th percentile of the surrounding ``LEVEL_WINDOW_S`` seconds.

    A quiet verse's hi-hats then weigh as much as a loud chorus's, so the tracker's phase in a
    quiet passage is decided by that passage's own onsets, not by the path's momentum. The level
    never counts as less than a tenth of the song's: silence-like gaps are not blown up into beats.
    """
    x = np.asarray(env, dtype=np.float64)
    if x.size == 0:
        return x
    width = max(int(LEVEL_WINDOW_S * frame_rate), 3)
    step = max(width // 8, 1)
    # Percentile on a coarse grid, interpolated: a sliding percentile per frame costs seconds.
    centres = np.arange(0, len(x), step)
    levels = np.array([np.percentile(x[max(c - width // 2, 0):c + width // 2 + 1], 90) for c in centres])
    level = np.interp(np.arange(len(x)), centres, levels)
    return x / np.maximum(level, 0.1 * float(np.percentile(x, 90)) + 1e-9)


def beat_score(env: np.ndarray, frame_rate: float, period: float) -> np.ndarray:
    """How much a beat at each frame is heard: the relative onset curve, each onset spread over
    ``1 / DP_KERNEL_FRACTION`` of a beat (the tracker's local score)."""
    x = relative_onsets(env, frame_rate)
    x /= float(x.std()) + 1e-12
    reach = int(np.ceil(period))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) * DP_KERNEL_FRACTION / period) ** 2)
    return np.convolve(x, kernel, mode="same")


def track_beats_dp(env: np.ndarray, frame_rate: float, *, period: float, periods: np.ndarray | None = None,
                   tightness: float = DP_TIGHTNESS, score: np.ndarray | None = None) -> np.ndarray:
    """Ellis's (2007) dynamic-programming tracker at a fractional period; beat frames.

    librosa's version rounds the period to whole frames (a 3 % tempo error at 160 BPM that the
    path must keep correcting) and is fed the raw curve; here the period is exact and the curve
    is read relative to its surroundings (``relative_onsets``). ``periods`` (one per frame, from
    ``tempo_path``) lets the period follow the song's tempo; without it, it is ``period`` throughout.
    ``score`` is ``beat_score`` of the same curve and period where the caller has it already.
    """
    local = beat_score(env, frame_rate, period) if score is None else score
    reach = int(np.ceil(period))
    n = len(local)
    # "same" is as long as the kernel where that is longer than the curve (a one-second song).
    local_period = (np.full(n, period) if periods is None
                    else np.pad(np.asarray(periods, dtype=np.float64), (0, max(n - len(periods), 0)), mode="edge"))
    shortest = max(int(round(float(local_period.min()) / 2)), 1)
    longest = int(np.ceil(2 * float(local_period.max())))
    # Intervals (frames) to the predecessor: intervals[j] = shortest + j.
    log_intervals = np.log(np.arange(shortest, longest + 1))
    log_period = np.log(local_period)
    cumulative = local.copy()
    back = np.full(n, -1)
    # The path starts at the first frame with a real onset: nothing before it links back.
    first = int(np.argmax(local >= 0.01 * float(local.max())))
    for t in range(max(first, shortest), n):
        earliest = max(t - longest, 0)
        span = t - shortest + 1 - earliest
        penalty = -tightness * (log_intervals[:span] - log_period[t]) ** 2
        candidates = cumulative[earliest:t - shortest + 1][::-1] + penalty
        j = int(np.argmax(candidates))
        cumulative[t] = local[t] + candidates[j]
        back[t] = t - shortest - j
    # The path ends on the best-scoring frame of the beat period before the last clear onset,
    # and the grid goes on from there at the period to the end of the curve.
    end = n - int(np.argmax(local[::-1] >= DP_END_ONSET_FRACTION * float(local.max())))
    tail = end - 1 - int(np.argmax(cumulative[max(end - reach, 0):end][::-1]))
    beats: list[int] = []
    t = tail
    while t >= 0:
        beats.append(t)
        t = int(back[t])
    last = float(local_period[tail])
    after = np.round(tail + last * np.arange(1, int((n - 1 - tail) / last) + 1)).astype(int)
    return np.concatenate([np.array(beats[::-1], dtype=int), after[after < n]])


def fit_grid(beat_frames: np.ndarray, period: float, *,
             tolerance: float = STEADY_TOLERANCE) -> tuple[float, float, np.ndarray, np.ndarray]:
    """The straight grid ``start + k * period`` that most tracked beats lie on.

    The period is first chosen within ``STEADY_PERIOD_SPAN`` of ``period`` where the beats' phases
    agree most (the length of the mean of exp(2 pi i t / p)), and the phase from that mean: both
    read the whole song, so no single beat (an early pickup, a late flam) can set the grid. Then
    ``STEADY_FIT_ROUNDS`` rounds of least squares on the beats within ``tolerance`` (of a grid
    step) of it; over hundreds of beats that resolves the period to a small fraction of a frame.
    Returns (start, period, which beats lie on the grid, each beat's grid index).
    """
    t = np.asarray(beat_frames, dtype=np.float64)
    candidates = period * (1.0 + np.linspace(-STEADY_PERIOD_SPAN, STEADY_PERIOD_SPAN, 121))
    coherence = np.abs(np.exp(2j * np.pi * t[None, :] / candidates[:, None]).sum(axis=1))
    step = float(candidates[int(np.argmax(coherence))])
    start = float(np.angle(np.exp(2j * np.pi * t / step).sum())) / (2 * np.pi) * step
    for _ in range(STEADY_FIT_ROUNDS):
        index, on = _on_grid(t, start, step, tolerance)
        if int(on.sum()) < 2 or np.unique(index[on]).size < 2:
            break
        step, start = (float(v) for v in np.polyfit(index[on], t[on], 1))
    index, on = _on_grid(t, start, step, tolerance)
    return start, step, on, index


def _on_grid(t: np.ndarray, start: float, step: float, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Each time's nearest grid index, and whether it lies within ``tolerance`` steps of it."""
    index = np.round((t - start) / step)
    return index, np.abs(t - (start + index * step)) < tolerance * step


def _grid(start: float, step: float, first: int, n_frames: int, *, lead: float) -> np.ndarray:
    """``start + k * step`` for k from ``first`` to the end of the curve, from frame 0 on.

    A point up to ``lead`` frames before the curve's start is the beat the music starts on, and is
    placed at frame 0: a song rendered from a sequencer starts on its first beat, so that beat's
    grid point sits within a few samples of the start, on either side by the copy (an MP3 copy
    of xmoto foxrun opened 6 samples earlier and had one beat more: beat F 0.995).
    """
    if -lead <= start + (first - 1) * step < 0:
        first -= 1
    grid = start + step * np.arange(first, int(np.floor((n_frames - 1 - start) / step)) + 1)
    return np.maximum(grid[grid >= -lead], 0.0)


def steady_grid(beat_frames: np.ndarray, period: float, *, n_frames: int,
                score: np.ndarray | None = None, kick: np.ndarray | None = None) -> np.ndarray | None:
    """The tracked beats as one exact grid (fractional frames) if the song keeps a steady tempo.

    Most songs are made to a click: their beats are a straight line in time. Where at least
    ``STEADY_SHARE`` of the tracked beats lie on one grid, the grid itself is returned, from the
    first tracked beat to the end of the curve. It bridges a passage where the tracker slid onto the
    off-beat and back (a syncopated break), which a copy at another speed or bit rate slides
    through differently, and it is not quantised to the 16 ms frames. Given the tracker's ``score``,
    beats off the grid where the onsets do not support leaving it (a passage that holds no beat) do
    not count against it (``_holds_without_support``), and where longer passages slid
    (``half_beat_grid``) the beats may still all lie on the grid's beats and off-beats. Given the
    score, the beat grid is fitted last to the onsets themselves (``refine_grid``). ``None`` where
    the tempo moves (rubato, tempo changes): the tracked beats stand.
    """
    if len(beat_frames) < 16:
        return None
    start, step, on, index = fit_grid(beat_frames, period)
    first = int(index.min())
    # From the first tracked beat on to the end of the curve, as the tracker's own grid goes on
    # past its last clear onset: ending at the last tracked beat, a copy whose last onset came a
    # frame later had one beat more (beat F 0.999 under a 0.5 s shift on a drum-kit piece).
    grid = _grid(start, step, first, n_frames, lead=STEADY_TOLERANCE * step)
    steady = float(on.mean()) >= STEADY_SHARE or (
        score is not None and _holds_without_support(beat_frames, start + index * step, on, grid, score))
    if score is None:
        return grid if steady else None
    if not steady:
        return half_beat_grid(beat_frames, period, n_frames=n_frames, score=score, kick=kick)
    start, step = refine_grid(start, step, first, int(index.max()), score)
    return _grid(start, step, first, n_frames, lead=STEADY_TOLERANCE * step)


def refine_grid(start: float, step: float, first: int, last: int, score: np.ndarray) -> tuple[float, float]:
    """The grid ``start + k * step`` (k from ``first`` to ``last``) moved to where ``score`` sums highest.

    Its period within ``GRID_REFINE_SPAN`` and its phase within ``GRID_REFINE_PHASE`` of a beat,
    both about the grid's middle beat, so that a change of period does not swing the far end of
    the song by more than it moves the middle. Returns the new (start, step).
    """
    k = np.arange(first, last + 1, dtype=np.float64)
    middle = float(np.median(k))
    centre = start + middle * step
    stretches = np.arange(-GRID_REFINE_SPAN, GRID_REFINE_SPAN + GRID_REFINE_STEP / 2, GRID_REFINE_STEP)
    shifts = np.arange(-GRID_REFINE_PHASE, GRID_REFINE_PHASE + GRID_REFINE_PHASE_STEP / 2,
                       GRID_REFINE_PHASE_STEP) * step
    frames = np.arange(len(score), dtype=np.float64)
    best, best_step, best_shift = -np.inf, step, 0.0
    for stretch in stretches:
        # The score summed at every grid point, for each shift; points off the curve count 0.
        points = centre + (k - middle)[None, :] * step * (1.0 + stretch) + shifts[:, None]
        sums = np.interp(points, frames, score, left=0.0, right=0.0).sum(axis=1)
        j = int(np.argmax(sums))
        if sums[j] > best:
            best, best_step, best_shift = float(sums[j]), step * (1.0 + stretch), float(shifts[j])
    return centre + best_shift - middle * best_step, best_step


def _holds_without_support(beat_frames: np.ndarray, grid_points: np.ndarray, on: np.ndarray,
                           grid: np.ndarray, score: np.ndarray) -> bool:
    """Whether the grid holds once beats whose onsets do not support leaving it are not counted.

    ``grid_points`` is each tracked beat's nearest grid point, ``on`` whether the beat lies on it,
    ``grid`` the whole grid. See ``UNSUPPORTED_RATIO`` and ``GRID_SCORE_SHARE``.
    """
    tracked = _score_at(score, beat_frames)
    window = np.ones(2 * UNSUPPORTED_BEATS + 1)
    near_tracked = np.convolve(tracked, window, mode="same")
    near_grid = np.convolve(_score_at(score, grid_points), window, mode="same")
    supported = near_tracked > UNSUPPORTED_RATIO * np.maximum(near_grid, 1e-9)
    if float((on | ~supported).mean()) < UNSUPPORTED_SHARE:
        return False
    return float(_score_at(score, grid).sum()) >= GRID_SCORE_SHARE * float(tracked.sum())


def _score_at(score: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The tracker's score (one value per frame) read at fractional frames."""
    return np.interp(at, np.arange(len(score), dtype=np.float64), score)


def half_beat_grid(beat_frames: np.ndarray, period: float, *, n_frames: int,
                   score: np.ndarray, kick: np.ndarray | None = None) -> np.ndarray | None:
    """A steady song whose tracked beats slid onto the off-beat for whole passages: its beat grid.

    Where ``HALF_BEAT_SHARE`` of the tracked beats lie on one grid of half beats (within
    ``STEADY_TOLERANCE`` of a beat), the beats are the half of that grid, even or odd, on which the
    tracker's ``score`` (``beat_score``) sums higher over the whole song, if it does so by
    ``HALF_BEAT_MARGIN``: the song's own onsets decide where its beat is, not which half the
    tracker happened to hold in each passage. Where they do not, the half on which the low-band
    flux ``kick`` sums ``KICK_HALF_MARGIN`` times higher (the kick drum lands on the beat). Failing
    that, the same on a grid of quarter beats (``QUARTER_BEAT_SHARE``, ``QUARTER_OFF_GRID_SHARE``),
    whose beat is the quarter that leads the other three by those margins; where the onsets leave
    several quarters in the running and the kick leads none of the four, the kick decides between
    those the onsets left. ``None`` otherwise.
    """
    grid = _sub_beat_grid(beat_frames, period, 2, HALF_BEAT_SHARE, n_frames=n_frames, score=score, kick=kick)
    if grid is None:
        grid = _sub_beat_grid(beat_frames, period, 4, QUARTER_BEAT_SHARE, n_frames=n_frames, score=score, kick=kick)
    return grid


def _sub_beat_grid(beat_frames: np.ndarray, period: float, parts: int, share: float, *, n_frames: int,
                   score: np.ndarray, kick: np.ndarray | None) -> np.ndarray | None:
    """``half_beat_grid`` on a grid of ``parts`` points a beat, of which ``share`` of the tracked beats must lie on one."""
    step_tolerance = 2 * STEADY_TOLERANCE
    start, step, on, index = fit_grid(beat_frames, period / parts, tolerance=step_tolerance)
    if float(on.mean()) < share:
        return None
    if parts > 2:
        off_beats = ~fit_grid(beat_frames, period)[2]
        if off_beats.any() and float(on[off_beats].mean()) < QUARTER_OFF_GRID_SHARE:
            return None
    grid = _grid(start, step, int(index.min()), n_frames, lead=step_tolerance * step)
    k = np.round((grid - start) / step).astype(int) % parts
    heard = _phase_sums(_score_at(score, grid), k, parts)
    tied = heard * HALF_BEAT_MARGIN > heard.max()
    if tied.sum() > 1:
        # The onsets leave two or more phases in the running: the kick drum decides, where it leads
        # every other phase, else between those the onsets left in the running.
        if kick is None:
            return None
        hits = _phase_sums(_kick_at(kick, grid), k, parts)
        if (hits * KICK_HALF_MARGIN > hits.max()).sum() > 1:
            hits = np.where(tied, hits, -np.inf)
            if (hits * KICK_HALF_MARGIN > hits.max()).sum() > 1:
                return None
        heard = hits
    return grid[k == int(np.argmax(heard))]


def _phase_sums(at_points: np.ndarray, k: np.ndarray, parts: int) -> np.ndarray:
    """Each phase's sum (0 .. parts - 1) of a value read at the grid's points."""
    return np.array([float(at_points[k == j].sum()) for j in range(parts)])


def _kick_at(kick: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The low-band flux (``Features.low_onset``) at fractional frames: its highest within two frames."""
    padded = np.pad(kick, 2)
    frames = np.clip(np.round(at).astype(int), 0, len(kick) - 1) + 2
    return np.asarray(np.max(np.stack([padded[frames + k] for k in range(-2, 3)]), axis=0))


def beat_activation(env: np.ndarray, frame_rate: float) -> np.ndarray:
    """Onset curve as a 0..1 "beat here" probability for the DBN (``relative_onsets``, halved)."""
    return np.clip(relative_onsets(env, frame_rate) * 0.5, 1e-4, 0.95)


def track_beats_dbn(env: np.ndarray, frame_rate: float, *, bpm: float,
                    span: float = DBN_TEMPO_SPAN) -> np.ndarray:
    """Viterbi path through a beat-pointer state space; beat frames.

    States are (beat period in frames, position inside the beat). The position advances one
    frame at a time; at the end of a beat the period may change, with probability falling as
    exp(-lambda * |ratio - 1|). The first 1/16 of every beat observes the activation, the rest its
    complement. Back-pointers are kept only where a beat starts (one per period per frame), since
    every other state has a single predecessor: memory stays small even for a 15-minute song.
    """
    act = beat_activation(env, frame_rate)
    n_frames = len(act)
    period = 60.0 * frame_rate / bpm
    lo = max(int(np.floor(period * (1 - span))), 2)
    hi = max(int(np.ceil(period * (1 + span))), lo)
    intervals = np.arange(lo, hi + 1)
    starts = np.concatenate([[0], np.cumsum(intervals)[:-1]])
    ends = starts + intervals - 1
    n_states = int(intervals.sum())
    position = np.concatenate([np.arange(k) for k in intervals])
    on_beat = position < np.maximum(intervals.repeat(intervals) / DBN_OBSERVATION_LAMBDA, 1)
    ratio = intervals[None, :] / intervals[:, None]
    trans = -DBN_TRANSITION_LAMBDA * np.abs(ratio - 1.0)
    trans -= np.log(np.exp(trans).sum(axis=1, keepdims=True))           # rows: from period i
    log_on = np.log(act)
    log_off = np.log((1.0 - act) / (DBN_OBSERVATION_LAMBDA - 1))
    delta = np.full(n_states, -np.log(n_states)) + np.where(on_beat, log_on[0], log_off[0])
    back = np.empty((n_frames, len(intervals)), dtype=np.int16)
    new = np.empty_like(delta)
    for t in range(1, n_frames):
        new[1:] = delta[:-1]
        cand = delta[ends][:, None] + trans                                 # (from, to)
        best = np.argmax(cand, axis=0)
        back[t] = best
        new[starts] = cand[best, np.arange(len(intervals))]
        new += np.where(on_beat, log_on[t], log_off[t])
        delta, new = new, delta
        delta -= delta.max()                                                # keep log values bounded
    # Back-track: a state at position p came from p-1 of the same period; a beat start came from
    # the end of the period stored in ``back``.
    block = np.repeat(np.arange(len(intervals)), intervals)
    state = int(np.argmax(delta))
    beats: list[int] = []
    for t in range(n_frames - 1, -1, -1):
        k = int(block[state])
        if state == starts[k]:
            beats.append(t)
            if t > 0:
                state = int(ends[back[t, k]])
        else:
            state -= 1
    return np.array(beats[::-1], dtype=int)


def beat_period(beats_s: np.ndarray) -> float:
    """Typical seconds per beat, robust to the 16 ms quantisation of single intervals."""
    # Spans of 8 beats: each beat is quantised to a 16 ms frame, so single intervals would put
    # the tempo of a steady 120 BPM song anywhere between 116 and 124.
    span = min(8, len(beats_s) - 1)
    return float(np.median((beats_s[span:] - beats_s[:-span]) / span))


def _pulse_clarity(env: np.ndarray, beat_frames: np.ndarray) -> float:
    if len(beat_frames) == 0 or env.size == 0:
        return 0.0
    mean = float(env.mean())
    if mean <= 1e-9:
        return 0.0
    # Best value within one frame either side: tracker output is quantised to the frame grid.
    padded = np.pad(env, 1)
    frames = np.clip(beat_frames, 0, env.size - 1)
    on_beat = np.maximum.reduce([padded[frames], padded[frames + 1], padded[frames + 2]])
    return float(np.mean(on_beat) / mean)


def _bar_cues(features: Features, beat_frames: np.ndarray, beats_per_bar: int) -> np.ndarray:
    """How much each beat sounds like a bar start: chord change plus kick drum, each over its mean.

    For beats ``beats_per_bar`` to the one before last: the first bar is left out (where the music
    starts every cue jumps, and the roll below wraps around), and so is the last beat (a final
    chord's release).
    """
    edges = np.append(beat_frames, features.n_frames)
    chroma = segment_aggregate(features.chroma, edges, median=True)          # (12, n_beats)
    norm = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    # Harmonic change entering beat b: compare the two beats before it with the two from it on.
    before = (np.roll(norm, 1, axis=1) + np.roll(norm, 2, axis=1))
    after = norm + np.roll(norm, -1, axis=1)
    cos = np.sum(before * after, axis=0) / np.maximum(
        np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0), 1e-9)
    change = 1.0 - cos
    kick = _kick_at(features.low_onset, beat_frames)
    keep = slice(beats_per_bar, len(beat_frames) - 1)
    change, kick = change[keep], kick[keep]
    # Each cue is capped at its 95th percentile: one huge step (a drum fill, a tutti entry) must
    # not outvote a steady pattern of bar-line changes.
    change = np.minimum(change, np.percentile(change, 95))
    kick = np.minimum(kick, np.percentile(kick, 95))
    return np.asarray(change / max(float(change.mean()), 1e-9) + kick / max(float(kick.mean()), 1e-9))


def _vote(score: np.ndarray, phase_of: np.ndarray, beats_per_bar: int) -> tuple[np.ndarray, float]:
    """Mean cue of the beats in each bar phase, and the winner's lead over the runner-up, less one."""
    phase_scores = np.array([float(np.mean(score[phase_of == p])) if np.any(phase_of == p) else 0.0
                             for p in range(beats_per_bar)])
    runner_up, best = np.sort(phase_scores)[-2:]
    return phase_scores, float(best / max(runner_up, 1e-9) - 1.0)


def _downbeat_phase(features: Features, beat_frames: np.ndarray, beats_per_bar: int) -> tuple[int, float]:
    """Which beat of every ``beats_per_bar`` starts the bar, and by how much it won the vote.

    The margin is the winner's score over the runner-up's, less one. Where it is under
    ``BAR_VOTE_MARGIN`` the cues cannot tell those phases apart (a pattern that repeats every two
    beats), and a copy at another bit rate tipped the vote either way: the bar then starts on the
    earliest of the phases within that margin of the winner, the shortest pickup, which the beat
    grid's start decides, not the cues' noise.
    """
    score = _bar_cues(features, beat_frames, beats_per_bar)
    # score[j] belongs to beat j + beats_per_bar, which has the same phase as beat j.
    phase_scores, margin = _vote(score, np.arange(len(score)) % beats_per_bar, beats_per_bar)
    tied = phase_scores * (1.0 + BAR_VOTE_MARGIN) >= float(phase_scores.max())
    return int(np.argmax(tied)), margin


def bar_positions(features: Features, beat_frames: np.ndarray, beats_per_bar: int,
                  *, switch_cost: float = BAR_SWITCH_COST) -> tuple[np.ndarray, float]:
    """Each beat's place in its bar (0 starts a bar), and how clearly the bars were found.

    A Viterbi path over the place in the bar, beat by beat: the place advances by one each beat,
    and a bar start scores its cue (``_bar_cues``) over the song's mean. Any other step (a beat
    the tracker added or skipped, an odd bar) costs ``switch_cost``, so the bars re-align where the
    cues agree on it for several bars, and a single slip no longer moves every bar after it. The
    margin is the vote's (``_downbeat_phase``) on the beats as aligned by the path.
    """
    n = len(beat_frames)
    score = _bar_cues(features, beat_frames, beats_per_bar)
    gain = np.zeros(n)
    gain[beats_per_bar:n - 1] = score - score.mean()
    places = np.arange(beats_per_bar)
    previous = (places - 1) % beats_per_bar
    total = np.where(places == 0, gain[0], 0.0)
    back = np.zeros((n, beats_per_bar), dtype=int)
    for b in range(1, n):
        advance = total[previous]
        jump_from = int(np.argmax(total))
        jump = total[jump_from] - switch_cost
        back[b] = np.where(advance >= jump, previous, jump_from)
        total = np.maximum(advance, jump) + np.where(places == 0, gain[b], 0.0)
    place = np.empty(n, dtype=int)
    place[-1] = int(np.argmax(total))
    for b in range(n - 1, 0, -1):
        place[b - 1] = back[b, place[b]]
    _, margin = _vote(score, place[beats_per_bar:n - 1], beats_per_bar)
    return place, margin
