"""Drop readings without a value; writes the cleaned CSV."""

import csv
import sys

source, dest = sys.argv[1], sys.argv[2]
kept = dropped = 0
with open(source, newline="") as fin, open(dest, "w", newline="") as fout:
    reader = csv.DictReader(fin)
    writer = csv.DictWriter(fout, fieldnames=reader.fieldnames)
    writer.writeheader()
    for row in reader:
        if row["value"].strip():
            writer.writerow(row)
            kept += 1
        else:
            dropped += 1
print(f"kept {kept} readings, dropped {dropped} without a value")
