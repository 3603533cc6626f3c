# String building, interpolation, joining, replacing and splitting.
total = 0
built = ""
for r in range(1000):
    parts = []
    for i in range(1000):
        parts.append(f"k{i}=v{i * r}")
    line = ";".join(parts)
    replaced = line.replace("=", ":")
    fields = replaced.split(";")
    for field in fields:
        total += len(field)
    key_value = fields[r].split(":")
    built += key_value[0]
    total = total % 1000000007
print(f"{total} {len(built)} {built[-8:]}")
