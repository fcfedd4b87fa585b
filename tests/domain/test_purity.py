import subprocess
import sys


def test_domain_state_and_adapter_modules_import_no_faust_and_no_kafka_client():
    code = (
        "import sys, pkgutil, importlib, streams.domain, streams.state, streams.adapters\n"
        "for package in (streams.domain, streams.state, streams.adapters):\n"
        "    for module in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(f'{package.__name__}.{module.name}')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('faust', 'aiokafka', 'mode', 'aiohttp')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
