"""GET / signed in (session cookie), after one sign-in per simulated user."""

import os

from common import login, next_index, read_lines, wait_until_all_set_up
from locust import FastHttpUser, constant, task

USERNAMES = read_lines("BENCH_USERS_FILE")
PASSWORD = os.environ["BENCH_PASSWORD"]


class Home(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        login(self.client, USERNAMES[next_index() % len(USERNAMES)], PASSWORD, name_prefix="(setup) ")
        wait_until_all_set_up(self.environment)  # statistics restart once every user has signed in

    @task
    def home(self):
        with self.client.get("/", name="GET /", allow_redirects=False, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
