"""Indexes that let the end-use summaries, counts and waiting decisions read an index alone, or a few rows, at a
million serials (issue #15)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("eum", "0002_unit_station")]

    operations = [
        migrations.RemoveIndex(
            model_name='serial',
            name='eum_serial_status_4acb93_idx',
        ),
        migrations.AddIndex(
            model_name='lossreport',
            index=models.Index(fields=['acknowledged_on'], name='eum_loss_acknowledged'),
        ),
        migrations.AddIndex(
            model_name='serial',
            index=models.Index(fields=['due_on', 'status', 'marking', 'owner'], name='eum_serial_due_status'),
        ),
        migrations.AddIndex(
            model_name='serial',
            index=models.Index(fields=['holder', 'status', 'due_on', 'marking', 'owner'], name='eum_serial_holder_status'),
        ),
        migrations.AddIndex(
            model_name='serial',
            index=models.Index(fields=['owner', 'item_type', 'holder', 'handover_place', 'marking', 'status', 'status_on', 'handover_date', 'due_on', 'last_sighted_on'], name='eum_serial_summary'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['state'], name='eum_transfer_state'),
        ),
    ]
