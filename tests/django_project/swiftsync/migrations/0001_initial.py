from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="UploadRecord",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name="ID")),
                ("container", models.CharField(max_length=256)),
                ("name", models.CharField(max_length=1024)),
                ("size", models.BigIntegerField(default=0)),
                ("ok", models.BooleanField(default=False)),
                ("thread_id", models.BigIntegerField()),
            ],
        ),
    ]
