from __future__ import annotations

from django import forms

from soundtrack.models import Soundtrack


class SoundtrackOptionsForm(forms.Form):
    genre = forms.ChoiceField(choices=Soundtrack.Genre.choices, initial=Soundtrack.Genre.AUTO)
    energy = forms.IntegerField(min_value=1, max_value=5, initial=3,
                                widget=forms.NumberInput(attrs={"type": "range", "min": 1, "max": 5, "step": 1}))
    mix = forms.ChoiceField(choices=Soundtrack.Mix.choices, initial=Soundtrack.Mix.REPLACE, widget=forms.RadioSelect)
