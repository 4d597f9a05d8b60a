"""One module per randomizer. Each is a pure function of its recipe section, the part or scene it
acts on and a Sampler; none keeps state or draws from anywhere but the Sampler's named streams."""
