"""Data handling: plan the volume of an experiment, ingest files into a catalog with metadata and
checksums, compress losslessly, and write realistic demo data.

Heavy libraries (h5py, hdf5plugin, dask, tifffile) are imported inside the functions that need them.
"""
