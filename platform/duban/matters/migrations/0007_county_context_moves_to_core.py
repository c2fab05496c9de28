# The county's calendar corrections and sequences belong to the county, not to matters: their
# models move to duban.core (core 0002). State only: the tables stay as they are.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("matters", "0006_proposer_satisfaction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WorkdayOverride"),
                migrations.DeleteModel(name="CalendarYear"),
                migrations.DeleteModel(name="Counter"),
            ],
            database_operations=[],
        ),
    ]
