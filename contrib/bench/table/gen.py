# Writes the benchmark's CSV and JSONL: ROWS rows of id (int), question (text,
# every 7th with a comma and quotes so it needs quoting), score (float),
# ok (bool), answer (text, some non-ASCII). Deterministic.
import csv, json, sys

rows, csv_path, jsonl_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
words = ["model", "judge", "token", "score", "answer", "context", "mlflow", "metric",
         "latency", "café", "naïve", "résumé", "question", "prompt", "faithful"]
with open(csv_path, "w", newline="") as fc, open(jsonl_path, "w") as fj:
    w = csv.writer(fc, lineterminator="\n")
    w.writerow(["id", "question", "score", "ok", "answer"])
    for i in range(rows):
        q = " ".join(words[(i * k) % len(words)] for k in (1, 3, 5, 7)) + "?"
        if i % 7 == 0:
            q = 'what, exactly, is "' + q + '"'
        score = (i * 37 % 1000) / 7.0
        ok = i % 3 == 0
        a = "The " + words[i % len(words)] + " is " + words[(i * 11) % len(words)] + " number " + str(i)
        w.writerow([i, q, repr(score), "True" if ok else "False", a])
        fj.write(json.dumps({"id": i, "question": q, "score": score, "ok": ok, "answer": a},
                            ensure_ascii=False) + "\n")
