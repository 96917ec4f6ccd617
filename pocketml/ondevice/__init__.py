"""The device learns and collaborates: personalisation in C, Flower clients that train in C, split inference.

    personalize(PersonalizeSettings(...))   per-device shifts, adapted on the device (C training step)
    federate_in_c(...)                       a Flower fleet whose clients run the emitted C training step
    measure_split(OUT).report(radio)         every cut of a shrunk model between the device and a gateway

Built on the training step (``pocketml.graph.training``, ``pocketml.deploy.c.train``) and the
deployment path; details in docs/ondevice.md.
"""
