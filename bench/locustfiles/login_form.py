"""Sign-in form POST with a real password (scrypt): a fresh session per sign-in."""

import os

from common import login, next_index, read_lines
from locust import FastHttpUser, constant, task

USERNAMES = read_lines("BENCH_USERS_FILE")
PASSWORD = os.environ["BENCH_PASSWORD"]


class SignIn(FastHttpUser):
    wait_time = constant(0)

    @task
    def sign_in(self):
        self.client.cookiejar.clear()
        login(self.client, USERNAMES[next_index() % len(USERNAMES)], PASSWORD, name_prefix="")
