from tests.bench import usage


def test_cpu_per_message_and_cores_busy():
    before = {
        "rasa": 10.0,
        "gateway": 2.0,
        usage.LOAD_GENERATOR: 1.0,
        usage.MACHINE_BUSY: 100.0,
        usage.MACHINE_IOWAIT: 5.0,
    }
    after = {
        "rasa": 13.0,
        "gateway": 2.5,
        usage.LOAD_GENERATOR: 1.2,
        usage.MACHINE_BUSY: 108.0,
        usage.MACHINE_IOWAIT: 5.4,
    }
    per_message = usage.cpu_ms_per_message(before, after, 100)
    assert per_message.keys() == {"rasa", "gateway", usage.LOAD_GENERATOR}
    assert round(per_message["rasa"], 6) == 30.0
    assert round(per_message["gateway"], 6) == 5.0
    cores = usage.cores_busy(before, after, 4.0)
    assert round(cores["stack processes"], 6) == 0.875  # (3 + 0.5) / 4, generator left out
    assert round(cores["whole machine"], 6) == 2.0
    assert round(cores["whole machine, waiting on I/O"], 6) == 0.1
    assert usage.cpu_ms_per_message(before, after, 0) == {}
