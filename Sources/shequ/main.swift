print("shequ")
