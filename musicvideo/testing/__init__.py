"""Generators of test, benchmark and demo material: never imported by the engines that production runs."""
