print("furrow 0.1.0")
