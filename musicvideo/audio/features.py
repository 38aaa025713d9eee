"""Frame-level features computed in one chunked pass over the decoded audio.

The song is held once (decoded at 16 kHz, the rate Whisper needs, so lyrics reuse the same array).
Spectrograms are computed block by block and only compact per-frame summaries are kept, so a
15-minute song never has a full-length STFT (which would be ~4x the size of the audio) in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import maximum_filter1d

from mediakit.numba_cache import load_librosa_kernels
from mediakit.progress import ProgressFn, null_progress

ANALYSIS_SR = 16000
HOP = 256            # 16 ms frames: beat times are quantised to this
N_FFT = 2048         # 128 ms windows: 7.8 Hz bins, fine enough for chroma above ~100 Hz
N_MELS = 96
ONSET_N_FFT = 512    # 32 ms windows for onsets: a long window sees a hit up to half a window early
ONSET_N_MELS = 40
N_MFCC = 20
BLOCK_FRAMES = 1024  # ~16 s of audio per STFT block
# Onset bands are compressed as log(1 + power / floor), the floor this far below the song's mean
# band power: content under it (MP3's spectral holes, dither, a -6 dB copy's quantisation noise)
# adds next to nothing, where a plain dB scale with an absolute floor turned the codec's
# frame-to-frame holes into flux (bench/song_robustness.py: MP3 beat F 0.905 -> 1.00 on a
# real track with this and the band maximum below).
ONSET_FLOOR_DB = 60.0
# Flux compares each band with the largest of its neighbours one frame earlier (SuperFlux,
# Böck & Widmer 2013): vibrato and a codec's slight spectral shifts are not onsets.
ONSET_MAX_BANDS = 3
# The timbre rows' log-mel floor, this far below the mean band power a flat spectrum at the song's
# own level would have. An absolute floor (1e-10, 135 dB down) let a recording's noise floor into
# the quiet high bands: -70 dBFS hiss or -62 dBFS hum under the music changed the bars' MFCCs and
# moved sections, and a copy at 0.1x gain moved battle's, by its requantisation noise. Relative to
# the song's level, a copy at any gain has the same floor (bench/song_robustness.py, ``hiss``).
TIMBRE_FLOOR_DB = 37.0


@dataclass(frozen=True)
class Features:
    sample_rate: int
    hop: int
    n_frames: int
    mfcc: np.ndarray           # (N_MFCC, n_frames) from the log-mel spectrogram; c0 is overall level
    chroma: np.ndarray         # (12, n_frames), each frame max-normalised
    rms: np.ndarray            # (n_frames,) linear RMS
    centroid_hz: np.ndarray    # (n_frames,) spectral centroid
    low_onset: np.ndarray      # (n_frames,) positive flux below 200 Hz: kick drums mark bar starts
    onset_env: np.ndarray      # (n_frames,) spectral flux of a short-window, level-relative log-mel spectrogram
    # Song time of frame 0: features may cover only the sounding part of a song (leading silence
    # cut off), and every time read through frame_times/time_to_frame is on the song's clock.
    offset_s: float = 0.0

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    def frame_times(self) -> np.ndarray:
        return self.offset_s + np.arange(self.n_frames) * self.hop / self.sample_rate

    def time_to_frame(self, t: np.ndarray | float) -> np.ndarray:
        frames = np.round((np.asarray(t) - self.offset_s) * self.frame_rate).astype(int)
        return np.clip(frames, 0, max(self.n_frames - 1, 0))


def compute_features(samples: np.ndarray, sample_rate: int = ANALYSIS_SR, *, offset_s: float = 0.0,
                     progress: ProgressFn = null_progress) -> Features:
    """One chunked STFT pass: MFCC, chroma, RMS, centroid, low-band flux and onset flux per frame.

    Only these compact rows are kept for the whole song (about 76 floats a frame, 17 MB for 15
    minutes); spectrograms live one block at a time. The onset bands (40 a frame) are kept until
    the end of the pass because their compression is relative to the whole song's level.
    """
    if samples.ndim != 1:
        raise ValueError("compute_features expects mono samples")
    load_librosa_kernels()
    n_frames = 1 + len(samples) // HOP
    mel_basis = librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=N_MELS)
    onset_basis = librosa.filters.mel(sr=sample_rate, n_fft=ONSET_N_FFT, n_mels=ONSET_N_MELS)
    chroma_basis = librosa.filters.chroma(sr=sample_rate, n_fft=N_FFT, tuning=0.0)
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=N_FFT)
    low_bins = freqs < 200.0
    # Parseval for a Hann-windowed frame: mean power per sample from the one-sided spectrum.
    win_energy = float(np.sum(np.hanning(N_FFT) ** 2))
    mfcc = np.empty((N_MFCC, n_frames), dtype=np.float32)
    chroma = np.empty((12, n_frames), dtype=np.float32)
    rms = np.empty(n_frames, dtype=np.float32)
    centroid = np.empty(n_frames, dtype=np.float32)
    low_energy = np.empty(n_frames, dtype=np.float32)
    onset_mel = np.empty((ONSET_N_MELS, n_frames), dtype=np.float32)
    half = N_FFT // 2
    # A Hann-windowed frame of white noise at power p has win_energy * p in every bin.
    # (in float64 blocks: a whole-song float64 copy would be 115 MB for 15 minutes)
    step = BLOCK_FRAMES * HOP
    energy = sum(float(np.dot(b, b)) for b in (samples[i:i + step].astype(np.float64)
                                                for i in range(0, samples.size, step)))
    mean_power = energy / max(samples.size, 1)
    flat_band = win_energy * mean_power * float(mel_basis.sum(axis=1).mean())
    timbre_floor = max(flat_band * 10 ** (-TIMBRE_FLOOR_DB / 10), 1e-10)
    for f0 in range(0, n_frames, BLOCK_FRAMES):
        f1 = min(f0 + BLOCK_FRAMES, n_frames)
        # Frame t is centred on sample t*HOP (librosa's center=True convention), zero-padded at the ends.
        s0, s1 = f0 * HOP - half, (f1 - 1) * HOP + half
        block = samples[max(s0, 0):min(s1, len(samples))]
        if s0 < 0 or s1 > len(samples):
            block = np.pad(block, (max(-s0, 0), max(s1 - len(samples), 0)))
        spec = np.abs(librosa.stft(block, n_fft=N_FFT, hop_length=HOP, center=False))[:, : f1 - f0]
        power = spec ** 2
        mel_db = librosa.power_to_db(mel_basis @ power, ref=1.0, amin=timbre_floor, top_db=None)
        mfcc[:, f0:f1] = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
        c = chroma_basis @ power
        chroma[:, f0:f1] = c / np.maximum(c.max(axis=0, keepdims=True), 1e-10)
        rms[f0:f1] = np.sqrt((power[0] + 2 * power[1:].sum(axis=0)) / (N_FFT * win_energy))
        centroid[f0:f1] = (freqs[:, None] * spec).sum(axis=0) / np.maximum(spec.sum(axis=0), 1e-10)
        low_energy[f0:f1] = np.log1p(1000.0 * power[low_bins].sum(axis=0))
        # Onsets from 32 ms windows centred on the same frame times (the long window sees a hit
        # up to half a window early).
        short = half - ONSET_N_FFT // 2
        short_spec = np.abs(librosa.stft(block[short:len(block) - short], n_fft=ONSET_N_FFT, hop_length=HOP,
                                         center=False))[:, : f1 - f0] ** 2
        onset_mel[:, f0:f1] = onset_basis @ short_spec
        progress("features", f1 / n_frames, "Reading the spectrum")
    low_onset = np.maximum(0.0, np.diff(low_energy, prepend=low_energy[:1])).astype(np.float32)
    onset_env = onset_flux(onset_mel)
    return Features(sample_rate=sample_rate, hop=HOP, n_frames=n_frames, mfcc=mfcc, chroma=chroma, rms=rms,
                    centroid_hz=centroid, low_onset=low_onset, onset_env=onset_env, offset_s=offset_s)


def onset_flux(mel_power: np.ndarray) -> np.ndarray:
    """Positive spectral flux of (bands, frames) mel power, the same at any gain.

    The compression is relative to the mean band power of the whole excerpt, so a copy at another
    level gives the same curve (up to its quantisation noise, which sits under the floor).
    """
    floor = max(float(np.mean(mel_power, dtype=np.float64)), 1e-20) * 10 ** (-ONSET_FLOOR_DB / 10)
    n = mel_power.shape[1]
    flux = np.zeros(n, dtype=np.float32)
    # In blocks, each overlapping the previous by one frame: whole-song temporaries would be three
    # more copies of the bands.
    for f0 in range(0, n, BLOCK_FRAMES):
        f1 = min(f0 + BLOCK_FRAMES, n)
        compressed = np.log1p(mel_power[:, max(f0 - 1, 0):f1] / floor)
        previous = maximum_filter1d(compressed, ONSET_MAX_BANDS, axis=0)
        flux[max(f0, 1):f1] = np.maximum(0.0, compressed[:, 1:] - previous[:, :-1]).mean(axis=0)
    return flux


def onset_envelope(features: Features) -> np.ndarray:
    return features.onset_env


def loudness_db(rms: np.ndarray | float) -> np.ndarray:
    return 20 * np.log10(np.maximum(np.asarray(rms, dtype=np.float64), 1e-6))


def segment_aggregate(values: np.ndarray, edges: np.ndarray, *, median: bool = False) -> np.ndarray:
    """Mean (or median) of frame columns in each ``[edges[i], edges[i+1])``; empty spans take one frame."""
    x = np.atleast_2d(values)
    e = np.clip(np.asarray(edges, dtype=int), 0, x.shape[1])
    out = np.empty((x.shape[0], max(len(e) - 1, 0)), dtype=np.float32)
    for i in range(len(e) - 1):
        lo = min(e[i], x.shape[1] - 1)
        seg = x[:, lo:max(e[i + 1], lo + 1)]
        out[:, i] = np.median(seg, axis=1) if median else seg.mean(axis=1)
    return out
