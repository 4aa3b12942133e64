# Imports many stdlib modules (new code objects appear while sampled), with
# a burning function in between, then burns in after_imports.
import importlib
import sys
import time

MODULES = """argparse ast asyncio base64 bisect calendar cmd codecs collections
colorsys configparser contextlib copy csv dataclasses datetime decimal difflib
email enum filecmp fnmatch fractions ftplib getopt gettext glob gzip hashlib heapq
hmac html http imaplib inspect ipaddress json logging lzma mailbox mimetypes
numbers operator optparse pathlib pickle pkgutil platform plistlib poplib pprint
queue quopri random re sched secrets selectors shelve shlex shutil signal smtplib
socket sqlite3 statistics string stringprep struct subprocess tarfile tempfile
textwrap threading timeit tokenize trace traceback types typing unittest urllib
uuid warnings wave weakref xml zipfile zipimport zlib""".split()


def burn_between(n):
    x = 0
    for i in range(n):
        x += i % 3
    return x


def after_imports(seconds):
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        x += sum(range(1000))
    return x


for name in MODULES:
    importlib.import_module(name)
    burn_between(20000)
after_imports(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
