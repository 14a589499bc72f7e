"""A hasher for test_dovecot_login: the portal's Argon2id with other parameters (still p=1)."""

from mypage.principals.hashers import MyPageArgon2Hasher


class StrongerArgon2Hasher(MyPageArgon2Hasher):
    memory_cost = 32768
