"""The exact objects the kubelet and containerd write for the simulated node and its pods. Pure.

Every function takes the scenario and the moments it needs and returns a fresh JSON-ready dict;
nothing here reads a clock or talks to an API.
"""
