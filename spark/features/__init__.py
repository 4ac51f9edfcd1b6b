"""The graph and profile features on Spark, one module per family as in graph/ and models/.

`build.build_feature_frame` is the Spark twin of `models.features.build_feature_frame`: the same
columns, the same values, firm by firm.
"""
