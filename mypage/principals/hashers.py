from django.contrib.auth.hashers import Argon2PasswordHasher


class MyPageArgon2Hasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum (m=19 MiB, t=2, p=1).

    Django's defaults (p=8, 100 MiB) cost ~170 ms a login on this machine; these cost ~17 ms and
    p=1 is what Dovecot (libsodium) verifies, so the same hash can later serve the mailbox login.
    Hashes made with other parameters are upgraded on the next successful login.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456
    parallelism = 1
