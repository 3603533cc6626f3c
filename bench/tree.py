# A binary tree of dicts built recursively, then counted and summed recursively.
def make(depth, value):
    if depth == 0:
        return {"value": value, "left": None, "right": None}
    return {"value": value, "left": make(depth - 1, value * 2 % 1000),
            "right": make(depth - 1, (value * 2 + 1) % 1000)}


def count(node):
    if node is None:
        return 0
    return 1 + count(node["left"]) + count(node["right"])


def weigh(node):
    if node is None:
        return 0
    return (node["value"] + 3 * weigh(node["left"]) + 7 * weigh(node["right"])) % 1000003


nodes = 0
check = 0
for rnd in range(12):
    tree = make(14, rnd + 1)
    nodes += count(tree)
    check = (check * 31 + weigh(tree)) % 1000000007
print(f"{nodes} {check}")
