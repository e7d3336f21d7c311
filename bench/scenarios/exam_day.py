NAME = "exam_day"
TITLE = "Exam day"


def available(app):
    return "skipped: exams API not on this branch"


def run(ctx):
    raise NotImplementedError
