"""Advance open fix runs as far as they can go now, in this process, then exit."""

from django.core.management.base import BaseCommand, CommandError

from pipeline.models import FixRun
from pipeline.tasks import execute


class Command(BaseCommand):
    help = (
        "Run every open fix run's stages in this process until each run waits on the outside world "
        "(CI, review, a pull request slot) or ends. The same stage functions as the task queue uses."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--run", type=int, action="append", dest="runs", help="Only this run (repeatable)."
        )
        parser.add_argument("--max-steps", type=int, default=50, help="Stop a run after this many stages.")

    def handle(self, *args, runs=None, max_steps=50, **options):
        queryset = FixRun.objects.in_flight().order_by("pk")
        if runs:
            missing = set(runs) - set(FixRun.objects.filter(pk__in=runs).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No fix run with id {', '.join(map(str, sorted(missing)))}.")
            queryset = FixRun.objects.filter(pk__in=runs).order_by("pk")
        for run_id in queryset.values_list("pk", flat=True):
            self.advance(run_id, max_steps)

    def advance(self, run_id: int, max_steps: int) -> None:
        run = FixRun.objects.get(pk=run_id)
        path = [run.state]
        for _ in range(max_steps):
            if run.is_final or execute(run.pk, run.state) is None:
                break
            run.refresh_from_db()
            path.append(run.state)
        run.refresh_from_db()
        line = f"run {run.pk}: {' → '.join(path)}"
        if run.reason and run.is_final:
            line += f" ({run.reason})"
        self.stdout.write(line)
