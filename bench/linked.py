# A linked list built from dicts ({"value": v, "next": rest}), walked and rebuilt.
def build(n, seed):
    node = None
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) % 2147483648
        node = {"value": x % 1000, "next": node}
    return node


def total(node):
    s = 0
    while node is not None:
        s += node["value"]
        node = node["next"]
    return s


def rebuild(node, k):
    """A new list with every value changed, in reverse order."""
    out = None
    while node is not None:
        out = {"value": (node["value"] * k + 1) % 1000, "next": out}
        node = node["next"]
    return out


lst = build(20000, 5)
check = total(lst)
for rnd in range(15):
    lst = rebuild(lst, rnd + 2)
    check = (check * 31 + total(lst)) % 1000000007
print(f"{check} {lst['value']} {lst['next']['value']}")
