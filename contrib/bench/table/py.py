# python3 side of the table benchmark: csv.reader or json.loads per line into
# a list, then csv.writer / json.dumps back. Prints: read rows/s, write rows/s,
# peak RSS in MB.
import csv, json, resource, sys, time

kind, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.process_time()
with open(src, newline="", encoding="utf-8") as f:
    if kind == "csv":
        r = csv.reader(f)
        header = next(r)
        rows = list(r)
    else:
        rows = [json.loads(line) for line in f if line.strip()]
t1 = time.process_time()
with open(dst, "w", newline="", encoding="utf-8") as f:
    if kind == "csv":
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    else:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
t2 = time.process_time()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{len(rows) / (t1 - t0):.0f} {len(rows) / (t2 - t1):.0f} {peak:.1f}")
