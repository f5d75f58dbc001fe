"""What a device is: one schema module per hardware class (`cpu`, `systolic`, `dsp`,
`gpu`), the tables every profile shares (`common`), declared field constraints
(`fields`), the kind -> schema and cost model map (`classes`), and profile loading and
validation (`profile`). Nothing here prices an op; that is `simulator.costmodels`."""

from simulator.hardware.profile import Profile, device_names, load_profile, profile_from_mapping, to_toml

__all__ = ["Profile", "device_names", "load_profile", "profile_from_mapping", "to_toml"]
